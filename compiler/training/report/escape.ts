// Every piece of user text (model name, file and column names, class names, warning
// messages) reaches the report through these, so a name like `<script>` stays text.

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text for element content and quoted attribute values. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** A tagged template that escapes every interpolated value unless it is already `Html`. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type HtmlValue = Html | string | number | readonly Html[];

export function markup(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let s = strings[0]!;
  values.forEach((v, i) => {
    s += render(v) + strings[i + 1]!;
  });
  return new Html(s);
}

function render(v: HtmlValue): string {
  if (v instanceof Html) return v.text;
  if (typeof v === 'number') return esc(String(v));
  if (typeof v === 'string') return esc(v);
  return v.map((h) => h.text).join('');
}

export type Attrs = Readonly<Record<string, string | number | undefined>>;

/** `<tag a="v"…>children</tag>`; `tag` and attribute names are trusted constants, values are escaped. */
export function el(tag: string, attrs: Attrs, ...children: HtmlValue[]): Html {
  let s = `<${tag}`;
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) s += ` ${k}="${esc(String(v))}"`;
  return new Html(`${s}>${children.map(render).join('')}</${tag}>`);
}
