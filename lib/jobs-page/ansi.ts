const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);

interface Style {
  fg?: number;
  bg?: number;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
}

function apply(style: Style, codes: number[]): Style {
  const next = { ...style };
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i]!;
    if (code === 0) for (const key of Object.keys(next)) delete next[key as keyof Style];
    else if (code === 1) next.bold = true;
    else if (code === 2) next.dim = true;
    else if (code === 3) next.italic = true;
    else if (code === 4) next.underline = true;
    else if (code === 22) next.bold = next.dim = false;
    else if (code === 23) next.italic = false;
    else if (code === 24) next.underline = false;
    else if ((code >= 30 && code <= 37) || (code >= 90 && code <= 97)) next.fg = code;
    else if (code === 39) delete next.fg;
    else if ((code >= 40 && code <= 47) || (code >= 100 && code <= 107)) next.bg = code;
    else if (code === 49) delete next.bg;
    // 256-colour and true-colour forms are skipped whole: 38;5;n and 38;2;r;g;b
    else if (code === 38 || code === 48) i += codes[i + 1] === 5 ? 2 : codes[i + 1] === 2 ? 4 : 0;
  }
  return next;
}

const classes = (s: Style) =>
  [s.fg && `f${s.fg}`, s.bg && `b${s.bg}`, s.bold && 'bold', s.dim && 'dim', s.italic && 'italic', s.underline && 'underline'].filter(Boolean).join(' ');

// eslint-disable-next-line no-control-regex
const SEQUENCE = /\x1b\[([0-9;?]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/**
 * A line of build output as HTML: SGR colours and weights as spans with classes (f31, b42,
 * bold...), every other escape sequence and control character dropped, the text escaped.
 */
export function ansiToHtml(line: string): string {
  let html = '';
  let style: Style = {};
  let last = 0;
  const text = (chunk: string) => {
    const clean = escapeHtml(chunk.replace(CONTROL, ''));
    if (!clean) return;
    const names = classes(style);
    html += names ? `<span class="${names}">${clean}</span>` : clean;
  };
  for (const match of line.matchAll(SEQUENCE)) {
    text(line.slice(last, match.index));
    last = match.index + match[0].length;
    if (match[2] === 'm')
      style = apply(
        style,
        (match[1] || '0').split(';').map((n) => Number(n) || 0),
      );
  }
  text(line.slice(last));
  return html;
}
