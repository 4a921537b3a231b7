// Declared content types. SAMA records any string as a file's content_type ("image" in its own
// tests), so Parley does too; only a real media type may reach an HTTP Content-Type header.

const TOKEN = "[A-Za-z0-9!#$&^_.+-]+";
// A media type as HTTP writes it ("image/png", "text/plain; charset=utf-8"); no control characters.
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(\\s*;\\s*${TOKEN}=(${TOKEN}|"[^"\\\\\\x00-\\x1f\\x7f]*"))*$`);

export function isMediaType(value: string): boolean {
  return MEDIA_TYPE.test(value);
}

/** The type an upload is stored and served with: the declared one when it is a media type, else bytes. */
export function storedContentType(declared: string): string {
  return isMediaType(declared) ? declared : "application/octet-stream";
}
