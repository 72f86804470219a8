// securityContext.seccompProfile, pod- and container-level, checked as the
// API server checks it (ValidateSeccompProfileField): a type of
// RuntimeDefault, Unconfined or Localhost; localhostProfile set for
// Localhost and only for it, a relative path that stays below the seccomp
// root. Whether the file exists is for the runtime to find out when it
// creates the container, as with the kubelet.
import { oneOf, required } from './checks.js';
import { type DocContext, field } from './context.js';
import type { Loose } from './decode.js';
import type { SeccompProfile } from './types.js';

const TYPES = Object.keys({ RuntimeDefault: 1, Unconfined: 1, Localhost: 1 } satisfies Record<SeccompProfile['type'], 1>);
const ROOT = 'the seccomp root ($PEAPOD_SECCOMP_ROOT, default /var/lib/peapod/seccomp)';

export function checkSeccompProfile(ctx: DocContext, path: string, sp: Loose<SeccompProfile> | undefined): void {
  if (sp === undefined) return;
  const type = field(path, 'type');
  if (required(ctx, type, sp.type, 'one of RuntimeDefault, Unconfined or Localhost')) return;
  if (!TYPES.includes(sp.type)) {
    oneOf(ctx, type, sp.type, TYPES);
    return;
  }
  const lp = field(path, 'localhostProfile');
  const profile = sp.localhostProfile;
  if (sp.type !== 'Localhost') {
    if (profile !== undefined) ctx.error(lp, `can only be set when seccomp type is Localhost (the type is ${sp.type}); remove it`, 'key');
    return;
  }
  const example = `the profile's file below ${ROOT}, e.g. localhostProfile: profiles/audit.json`;
  if (profile === '') ctx.error(lp, `required value: must not be empty when seccomp type is Localhost: ${example}`);
  if (profile === '' || required(ctx, lp, profile, `must be set when seccomp type is Localhost: ${example}`)) return;
  if (profile.startsWith('/')) {
    ctx.error(lp, `must be a relative path below ${ROOT}, got ${JSON.stringify(profile)}; try ${JSON.stringify(profile.replace(/^\/+/, ''))}`);
  } else if (profile.split('/').includes('..')) {
    ctx.error(lp, `must not contain ".." (it would leave ${ROOT}): ${JSON.stringify(profile)}`);
  }
}
