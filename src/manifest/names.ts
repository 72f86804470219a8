// Name syntaxes of the Kubernetes API (k8s.io/apimachinery/pkg/util/validation).
// Each check returns undefined when the value is valid, else a message that
// says what the rule is and, when one can be derived, a valid alternative.

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const SVC_NAME = /^[-a-z0-9]+$/;

export const DNS1123_LABEL_MAX = 63;
export const DNS1123_SUBDOMAIN_MAX = 253;

/** JSON-quoted, shortened when long: messages stay one readable line. */
export function quote(s: string, max = 64): string {
  return JSON.stringify(s.length > max ? `${s.slice(0, max - 3)}...` : s);
}

function tryInstead(candidate: string, original: string, valid: (s: string) => boolean): string {
  return candidate && candidate !== original && valid(candidate) ? `; try ${quote(candidate)}` : '';
}

/** Lowercase, turn every run of other characters into '-', trim, truncate. */
function toLabel(s: string, max = DNS1123_LABEL_MAX): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, max)
    .replace(/^-+|-+$/g, '');
}

export function isDns1123Label(s: string): boolean {
  return s.length <= DNS1123_LABEL_MAX && LABEL.test(s);
}

export function isDns1123Subdomain(s: string): boolean {
  return s.length <= DNS1123_SUBDOMAIN_MAX && SUBDOMAIN.test(s);
}

export function checkDns1123Label(s: string): string | undefined {
  if (isDns1123Label(s)) return undefined;
  const rule =
    s.length > DNS1123_LABEL_MAX
      ? `must be no more than ${DNS1123_LABEL_MAX} characters (it has ${s.length})`
      : "must be a lowercase RFC 1123 label: lower case letters, digits and '-', starting and ending with a letter or digit";
  return `invalid name ${quote(s)}: ${rule}${tryInstead(toLabel(s), s, isDns1123Label)}`;
}

export function checkDns1123Subdomain(s: string): string | undefined {
  if (isDns1123Subdomain(s)) return undefined;
  const rule =
    s.length > DNS1123_SUBDOMAIN_MAX
      ? `must be no more than ${DNS1123_SUBDOMAIN_MAX} characters (it has ${s.length})`
      : "must be a lowercase RFC 1123 subdomain: lower case letters, digits, '-' and '.', starting and ending with a letter or digit";
  const fixed = s
    .split('.')
    .map((part) => toLabel(part, DNS1123_SUBDOMAIN_MAX))
    .filter((part) => part !== '')
    .join('.')
    .slice(0, DNS1123_SUBDOMAIN_MAX)
    .replace(/[-.]+$/, '');
  return `invalid name ${quote(s)}: ${rule}${tryInstead(fixed, s, isDns1123Subdomain)}`;
}

/** Environment variable names, as Kubernetes accepts them (C identifiers plus '-' and '.'). */
export function checkEnvVarName(s: string): string | undefined {
  if (ENV_NAME.test(s)) return undefined;
  if (s === '') return 'required value: an environment variable needs a name';
  const fixed = s.replace(/[^-._a-zA-Z0-9]/g, '_').replace(/^([0-9])/, '_$1');
  return (
    `invalid environment variable name ${quote(s)}: ` +
    "must consist of letters, digits, '_', '-' or '.', and must not start with a digit" +
    tryInstead(fixed, s, (x) => ENV_NAME.test(x))
  );
}

/** Label and annotation keys: `[prefix/]name`, prefix a DNS subdomain. */
export function checkQualifiedName(s: string): string | undefined {
  const parts = s.split('/');
  const name = parts.length === 2 ? (parts[1] ?? '') : (parts[0] ?? '');
  const prefix = parts.length === 2 ? parts[0] : undefined;
  if (parts.length > 2) return `invalid key ${quote(s)}: a qualified name has at most one '/'`;
  if (prefix !== undefined && !isDns1123Subdomain(prefix)) {
    return `invalid key ${quote(s)}: the prefix before '/' must be a lowercase DNS subdomain (e.g. example.com)`;
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    return (
      `invalid key ${quote(s)}: the name part must be 1-63 characters of letters, digits, ` +
      "'-', '_' or '.', starting and ending with a letter or digit"
    );
  }
  return undefined;
}

export function checkLabelValue(s: string): string | undefined {
  if (s.length <= 63 && LABEL_VALUE.test(s)) return undefined;
  return (
    `invalid label value ${quote(s)}: must be empty or 1-63 characters of letters, digits, ` +
    "'-', '_' or '.', starting and ending with a letter or digit"
  );
}

/** Port names (IANA_SVC_NAME): <= 15 chars, a-z0-9 and '-', with a letter, no '--', no '-' at the ends. */
export function checkPortName(s: string): string | undefined {
  const bad = (why: string): string => `invalid port name ${quote(s)}: ${why}`;
  if (s.length > 15) return bad('must be no more than 15 characters');
  if (!SVC_NAME.test(s)) return bad("must contain only lower case letters, digits and '-'");
  if (!/[a-z]/.test(s)) return bad('must contain at least one letter');
  if (s.includes('--')) return bad("must not contain consecutive hyphens ('--')");
  if (s.startsWith('-') || s.endsWith('-')) return bad("must not begin or end with '-'");
  return undefined;
}
