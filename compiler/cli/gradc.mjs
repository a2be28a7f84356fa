#!/usr/bin/env node
// The gradc command as the repository's scripts and tests run it; see bin/gradc.mjs.
import '../../bin/gradc.mjs';
