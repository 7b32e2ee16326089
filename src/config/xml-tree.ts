/**
 * XML text → a small element tree with line numbers, so every config error can name its line.
 * fast-xml-parser's `captureMetaData` gives each element the offset of its `<`; we map offsets
 * to lines ourselves. Well-formedness is checked first with XMLValidator, which reports the
 * line and column of the first problem.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { QmqError } from '../util/errors.js';

export interface XmlElement {
  /** The name as written, e.g. `amq:broker`. */
  qname: string;
  /** The name without a namespace prefix, e.g. `broker`. */
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Concatenated text content (trimmed), for Spring `<value>` elements. */
  text: string;
  line: number;
}

type OrderedNode = Record<string, unknown>;

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

function lineAt(starts: number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

/** Parses `xml` and returns its root element; throws CONFIG_INVALID naming `source` and the line. */
export function parseXmlTree(xml: string, source: string): XmlElement {
  const text = xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml;
  const check = XMLValidator.validate(text);
  if (check !== true) {
    throw new QmqError('CONFIG_INVALID', `${source}:${check.err.line}:${check.err.col}: malformed XML: ${check.err.msg}`);
  }
  const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    parseTagValue: false,
    trimValues: true,
    captureMetaData: true,
    ignoreDeclaration: true,
    ignorePiTags: true,
  });
  const nodes = parser.parse(text) as OrderedNode[];
  const meta = XMLParser.getMetaDataSymbol() as unknown as symbol;
  const starts = lineStarts(text);

  const convert = (node: OrderedNode): XmlElement | undefined => {
    const qname = Object.keys(node).find((k) => k !== ':@');
    if (qname === undefined || qname === '#text' || qname.startsWith('?') || qname.startsWith('#')) return undefined;
    const rawChildren = (node[qname] ?? []) as OrderedNode[];
    const children: XmlElement[] = [];
    const texts: string[] = [];
    for (const child of rawChildren) {
      if ('#text' in child) texts.push(String(child['#text']));
      else {
        const el = convert(child);
        if (el !== undefined) children.push(el);
      }
    }
    const m = (node as Record<symbol, { startIndex?: number } | undefined>)[meta];
    const attrs = (node[':@'] ?? {}) as Record<string, string>;
    return {
      qname,
      name: qname.includes(':') ? qname.slice(qname.indexOf(':') + 1) : qname,
      attrs: Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, String(v)])),
      children,
      text: texts.join('').trim(),
      line: m?.startIndex === undefined ? 0 : lineAt(starts, m.startIndex),
    };
  };

  const roots = nodes.map(convert).filter((e): e is XmlElement => e !== undefined);
  if (roots.length !== 1) {
    throw new QmqError('CONFIG_INVALID', `${source}: expected one root element (<beans> or <broker>), found ${roots.length}`);
  }
  return roots[0];
}
