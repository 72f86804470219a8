// An explained pod as text: for each process, the clone() that makes it
// and its steps in order, with the long host paths every line repeats
// written once ($ROOTFS, $POD).
import { cloneLine, formatStep } from '../plan/describe.js';
import { podPaths } from '../runtime/paths.js';
import type { ExplainedProcess, PodExplanation } from './explain.js';

const ROLE: Record<ExplainedProcess['role'], string> = { sandbox: 'the sandbox', init: 'init container', container: 'container' };

/**
 * Long host paths that every line of a container's plan repeats, written
 * once: $ROOTFS (where its root is assembled) and $POD (the pod's directory).
 */
function abbreviations(p: ExplainedProcess, e: PodExplanation): Array<[string, string, string]> {
  if (p.role === 'sandbox') return [];
  const pp = podPaths(e.stateRoot, e.metadata.name);
  return [
    ['$ROOTFS', pp.container(p.name).rootfs, "the container's root, assembled here; / after pivot_root"],
    ['$POD', pp.data, "the pod's directory on the host"],
    ...(pp.state === pp.data ? [] : ([['$RUN', pp.state, "the pod's runtime state on the host (/dev/shm, /etc files)"]] as Array<[string, string, string]>)),
  ];
}

function abbreviate(line: string, abbrevs: ReadonlyArray<[string, string, string]>): string {
  let out = line;
  for (const [name, path] of abbrevs) out = out.split(path).join(name);
  return out;
}

export function renderProcess(p: ExplainedProcess, e: PodExplanation): string[] {
  const image = p.image ? ` (image ${p.image.ref}${p.image.inStore ? '' : ', not in the store yet'})` : '';
  const out = [p.role === 'sandbox' ? `== ${p.name}: ${ROLE[p.role]} ==` : `== ${ROLE[p.role]} ${p.name}${image} ==`];
  if (!p.plan) {
    out.push(`  cannot be planned: ${p.error ?? 'unknown error'}`);
    return out;
  }
  const plan = p.plan;
  out.push(`  ${cloneLine(plan)}`);
  if (plan.keepSignalsBlocked) out.push('  signals stay blocked across exec (pause takes them with rt_sigtimedwait: none can be lost before it is ready)');
  const abbrevs = abbreviations(p, e);
  for (const [name, path, what] of abbrevs) out.push(`  ${name} = ${path}  (${what})`);
  out.push('  then, in the child:');
  const width = String(plan.steps.length).length;
  plan.steps.forEach((step, i) => {
    const [first, ...more] = formatStep(step).map((l) => abbreviate(l, abbrevs));
    out.push(`  ${String(i + 1).padStart(width)}. ${first ?? ''}`);
    for (const line of more) out.push(`  ${' '.repeat(width)}  ${line}`);
  });
  return out;
}

export function renderExplanation(e: PodExplanation): string {
  const out: string[] = [];
  const n = e.processes.length;
  out.push(`pod/${e.metadata.name}: ${n} process${n === 1 ? '' : 'es'}. Each is made by clone(), then the child runs these steps in order, ending in exec.`);
  out.push(`Nothing was run. Paths are those under the state root (${e.stateRoot.state}${e.stateRoot.data === e.stateRoot.state ? '' : `, data ${e.stateRoot.data}`});`);
  out.push(`placeholders: ${Object.entries(e.placeholders).map(([k, v]) => `${k} = ${v}`).join('; ')}.`);
  for (const note of e.notes) out.push(`note: ${note}`);
  for (const p of e.processes) {
    out.push('');
    out.push(...renderProcess(p, e));
  }
  return `${out.join('\n')}\n`;
}

