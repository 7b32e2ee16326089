/**
 * Reading typed values out of config elements, with errors that name the file, the line, what
 * was expected and — for a misspelt name — the nearest valid one.
 */
import { QmqError } from '../util/errors.js';
import { resolvePlaceholders, type PlaceholderSources } from './placeholders.js';
import { DURATION_FORMS, parseDurationMs, parseSizeBytes, SIZE_FORMS } from './sizes.js';
import { didYouMean } from './suggest.js';
import type { XmlElement } from './xml-tree.js';

/** What an element accepts: attributes we map, and ActiveMQ attributes we accept but ignore. */
export interface AttributeSpec {
  mapped: readonly string[];
  ignored?: readonly string[];
}

/** Namespace declarations and schema hints carry no configuration. */
function isNamespaceAttribute(name: string): boolean {
  return name === 'xmlns' || name.startsWith('xmlns:') || name.startsWith('xsi:');
}

export class ConfigReader {
  readonly warnings: string[] = [];

  constructor(
    readonly source: string,
    private readonly placeholders: PlaceholderSources,
  ) {}

  at(el: XmlElement | undefined): string {
    return el === undefined || el.line === 0 ? this.source : `${this.source}:${el.line}`;
  }

  fail(el: XmlElement | undefined, message: string): never {
    throw new QmqError('CONFIG_INVALID', `${this.at(el)}: ${message}`);
  }

  unsupported(el: XmlElement | undefined, message: string): never {
    throw new QmqError('CONFIG_UNSUPPORTED', `${this.at(el)}: ${message}`);
  }

  warn(el: XmlElement | undefined, message: string): void {
    this.warnings.push(`${this.at(el)}: ${message}`);
  }

  /** Fails on an unknown attribute; warns once for the ignored ones present. */
  checkAttributes(el: XmlElement, spec: AttributeSpec): void {
    const ignored = spec.ignored ?? [];
    const ignoredPresent: string[] = [];
    for (const name of Object.keys(el.attrs)) {
      if (isNamespaceAttribute(name) || spec.mapped.includes(name)) continue;
      if (ignored.includes(name)) {
        ignoredPresent.push(name);
        continue;
      }
      this.fail(
        el,
        `unknown attribute "${name}" on <${el.name}>${didYouMean(name, [...spec.mapped, ...ignored]) || '.'} ` +
          `Valid attributes: ${[...spec.mapped].sort().join(', ')}` +
          (ignored.length > 0 ? ` (also accepted and ignored: ${[...ignored].sort().join(', ')})` : ''),
      );
    }
    if (ignoredPresent.length > 0) {
      this.warn(el, `<${el.name}> attribute${ignoredPresent.length > 1 ? 's' : ''} ${ignoredPresent.join(', ')} ha${ignoredPresent.length > 1 ? 've' : 's'} no effect in QuorumMQ and ${ignoredPresent.length > 1 ? 'are' : 'is'} ignored`);
    }
  }

  /**
   * Sorts children into the ones with meaning here (returned by name) and ones ActiveMQ knows
   * but we ignore (one warning). Anything else is an error with a suggestion.
   */
  checkChildren(el: XmlElement, mapped: readonly string[], ignored: readonly string[] = []): Map<string, XmlElement[]> {
    const byName = new Map<string, XmlElement[]>();
    const ignoredPresent: XmlElement[] = [];
    for (const child of el.children) {
      if (mapped.includes(child.name)) {
        const list = byName.get(child.name) ?? [];
        list.push(child);
        byName.set(child.name, list);
      } else if (ignored.includes(child.name)) {
        ignoredPresent.push(child);
      } else {
        this.fail(
          child,
          `unknown element <${child.name}> in <${el.name}>${didYouMean(child.name, [...mapped, ...ignored]) || '.'} ` +
            `Valid elements: ${[...mapped].sort().join(', ')}` +
            (ignored.length > 0 ? ` (also accepted and ignored: ${[...ignored].sort().join(', ')})` : ''),
        );
      }
    }
    if (ignoredPresent.length > 0) {
      const names = ignoredPresent.map((c) => `<${c.name}>${c.line > 0 ? ` (line ${c.line})` : ''}`).join(', ');
      this.warn(el, `${names} in <${el.name}> ha${ignoredPresent.length > 1 ? 've' : 's'} no effect in QuorumMQ and ${ignoredPresent.length > 1 ? 'are' : 'is'} ignored`);
    }
    return byName;
  }

  /** At most one child of that name. */
  single(el: XmlElement, byName: Map<string, XmlElement[]>, name: string): XmlElement | undefined {
    const list = byName.get(name);
    if (list === undefined) return undefined;
    if (list.length > 1) this.fail(list[1], `<${name}> may appear only once in <${el.name}> (first at line ${list[0].line})`);
    return list[0];
  }

  /** Placeholder-resolved text; an unresolved placeholder fails with where to set it. */
  resolve(el: XmlElement, what: string, raw: string): string {
    const r = resolvePlaceholders(raw, this.placeholders);
    if (!r.ok) this.fail(el, `${what}: ${r.message}`);
    return r.value;
  }

  str(el: XmlElement, attr: string): string | undefined {
    const raw = el.attrs[attr];
    return raw === undefined ? undefined : this.resolve(el, `<${el.name} ${attr}>`, raw);
  }

  requiredStr(el: XmlElement, attr: string, hint: string): string {
    const v = this.str(el, attr);
    if (v === undefined || v.trim() === '') this.fail(el, `<${el.name}> needs the attribute ${attr}="…" (${hint})`);
    return v;
  }

  private bad(el: XmlElement, attr: string, value: string, expected: string): never {
    this.fail(el, `invalid value "${value}" for ${attr} on <${el.name}>; expected ${expected}`);
  }

  bool(el: XmlElement, attr: string): boolean | undefined {
    const v = this.str(el, attr);
    if (v === undefined) return undefined;
    const t = v.trim().toLowerCase();
    if (t === 'true') return true;
    if (t === 'false') return false;
    return this.bad(el, attr, v, '"true" or "false"');
  }

  int(el: XmlElement, attr: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const v = this.str(el, attr);
    if (v === undefined) return undefined;
    const n = /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      this.bad(el, attr, v, max === Number.MAX_SAFE_INTEGER ? `a whole number >= ${min}` : `a whole number from ${min} to ${max}`);
    }
    return n;
  }

  sizeBytes(el: XmlElement, attr: string): number | undefined {
    const v = this.str(el, attr);
    if (v === undefined) return undefined;
    const n = parseSizeBytes(v);
    if (n === undefined || n <= 0) this.bad(el, attr, v, `a size above zero: ${SIZE_FORMS}`);
    return n;
  }

  durationMs(el: XmlElement, attr: string): number | undefined {
    const v = this.str(el, attr);
    if (v === undefined) return undefined;
    const n = parseDurationMs(v);
    if (n === undefined) this.bad(el, attr, v, `a duration: ${DURATION_FORMS}`);
    return n;
  }
}
