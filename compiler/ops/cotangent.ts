// A cotangent may arrive as a scalar meaning "the same value everywhere", or with the node's
// elements under another shape; structured ops need it whole and shaped like their result.
import type { Builder } from '../ir/builder.ts';
import type { Node } from '../ir/node.ts';

export function fullCotangent(B: Builder, ct: Node, like: Node): Node {
  return ct.size === like.size ? B.reshape(ct, like.shape) : B.bcast(ct, like.shape);
}
