/**
 * A cheap scan of a message's MIME structure, done before the real parser runs, so that a
 * message built to exhaust the parser (200 nested multiparts, 100 000 parts) is recognised
 * without parsing it. It reads boundary lines and part headers only.
 */

export interface MimeShape {
  /** Deepest multipart nesting seen (a plain message is 0, multipart/mixed is 1). */
  depth: number;
  /** Body parts opened by a boundary line. */
  parts: number;
  /** The distinct content types of all parts, lower case (message/rfc822 marks a forward). */
  types: string[];
}

export interface MimeLimits {
  maxDepth: number;
  maxParts: number;
}

const BOUNDARY = /boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))/i;

export function mimeShape(raw: Buffer, limits?: MimeLimits): MimeShape {
  const text = raw.toString('latin1');
  const stack: string[] = [];
  let depth = 0;
  let parts = 0;
  const types = new Set<string>();
  let inHeaders = true;
  let header = '';
  let pos = 0;

  const endHeaders = () => {
    inHeaders = false;
    const type = contentType(header);
    if (type) types.add(type.split(';')[0]!.trim().toLowerCase());
    const boundary = multipartBoundary(type);
    if (boundary) {
      stack.push(boundary);
      depth = Math.max(depth, stack.length);
    }
    header = '';
  };

  while (pos < text.length) {
    let end = text.indexOf('\n', pos);
    if (end === -1) end = text.length;
    const line = text.slice(pos, end).replace(/\r$/, '');
    pos = end + 1;

    // A boundary line counts even where a part's headers never ended with a blank line:
    // the real parser treats it as a boundary there too.
    const boundary =
      line.startsWith('--') && stack.length > 0 ? matchBoundary(stack, line.trimEnd()) : undefined;
    if (boundary) {
      if (inHeaders) endHeaders();
      stack.length = boundary.keep;
      if (!boundary.closing) {
        parts++;
        inHeaders = true;
      }
    } else if (inHeaders) {
      if (line === '') endHeaders();
      else if (/^[ \t]/.test(line)) header += ' ' + line.trim();
      else header += '\n' + line;
    }
    if (limits && (depth > limits.maxDepth || parts > limits.maxParts)) break;
  }
  return { depth, parts, types: [...types] };
}

/** Which open boundary a line is, and how many boundaries stay open after it. */
function matchBoundary(stack: string[], line: string): { keep: number; closing: boolean } | undefined {
  for (let i = stack.length - 1; i >= 0; i--) {
    const b = `--${stack[i]}`;
    if (line === `${b}--`) return { keep: i, closing: true };
    if (line === b) return { keep: i + 1, closing: false };
  }
  return undefined;
}

const contentType = (headerBlock: string) => /(?:^|\n)content-type:([^\n]*)/i.exec(headerBlock)?.[1]?.trim();

function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\//i.test(contentType)) return undefined;
  const m = BOUNDARY.exec(contentType);
  return m ? (m[1] ?? m[2]) : undefined;
}

/** Why a message's shape is past the limits, or undefined when it is within them. */
export function shapeProblem(shape: MimeShape, limits: MimeLimits): string | undefined {
  if (shape.depth > limits.maxDepth)
    return `MIME nesting deeper than ${limits.maxDepth} levels (at least ${shape.depth})`;
  if (shape.parts > limits.maxParts) return `more than ${limits.maxParts} MIME parts`;
  return undefined;
}
