// Imported first by every Keel package entry, so that an older Node.js stops at import with one line
// that says what is needed, instead of failing later deep inside a dependency.
import { nodeAtLeast, nodeVersionMessage } from './internal/node-version.js';

const found = process.versions.node;
if (!nodeAtLeast(found)) {
  const error = new Error(nodeVersionMessage(found));
  // The stack would only point here; the message is the whole story.
  error.stack = `Error: ${error.message}`;
  throw error;
}
