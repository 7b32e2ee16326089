/**
 * Stores `value` under `name` as the object's own data. Plain assignment to "__proto__" changes
 * the object's prototype instead (or is ignored for a string), so a message header of that name,
 * which STOMP allows, would vanish between the wire, the store and the consumer.
 */
export function setOwn(target: Record<string, string>, name: string, value: string): void {
  if (name === '__proto__') Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
  else target[name] = value;
}
