// Kubernetes' $(VAR) references in command, args, env values and
// subPathExpr, expanded by the kubelet before the runtime sees them.
/**
 * Kubernetes' $(VAR) expansion: defined names are replaced, `$$` escapes a
 * dollar, an undefined reference is left as written.
 */
export function expandReferences(input: string, vars: ReadonlyMap<string, string>): string {
  return input.replace(/\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    const value = name === undefined ? undefined : vars.get(name);
    return value ?? match;
  });
}
