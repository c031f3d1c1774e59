/** The postmortem draft of an incident (Markdown), pure: the incident page's "Export" and its test. */

export interface TTimelineEntry {
  /** Agent time for agent events, server time for control-plane entries (ISO). */
  at: string;
  /** Server receive time (agent events; equal to `at` for control-plane entries). */
  receivedAt: string;
  source: 'agent' | 'control-plane';
  /** The member (agent events) or the actor (control-plane entries). */
  who: string;
  type: string;
  summary: string;
  /** The decision sentence behind it, when the agent said. */
  decision: string | null;
  operationId: string | null;
}

export interface TPostmortemInput {
  id: string;
  cluster: string;
  title: string;
  severity: string;
  status: string;
  startedAt: string;
  endedAt: string | null;
  members: string[];
  summary: string;
  acknowledgedBy: string | null;
  resolvedBy: string | null;
  notes: Array<{ at: string; author: string; text: string }>;
  timeline: TTimelineEntry[];
}

/** Markdown table cells: no pipes or newlines. */
function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function utc(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC');
}

export function postmortemMarkdown(p: TPostmortemInput): string {
  const lines: string[] = [];
  lines.push(`# Postmortem (draft): ${p.title}`, '');
  lines.push(`- Cluster: ${p.cluster}`);
  lines.push(`- Incident: #${p.id}, severity ${p.severity}, ${p.status}`);
  lines.push(`- Started: ${utc(p.startedAt)}`);
  lines.push(`- Ended: ${p.endedAt ? utc(p.endedAt) : 'ongoing'}`);
  lines.push(`- Members involved: ${p.members.join(', ') || 'none recorded'}`);
  if (p.acknowledgedBy) lines.push(`- Acknowledged by: ${p.acknowledgedBy}`);
  if (p.resolvedBy) lines.push(`- Resolved by: ${p.resolvedBy}`);
  lines.push('', '## Summary', '', `${p.summary}.`, '');
  lines.push('## Timeline', '', 'Times are the agents\' clocks for agent events and the control plane\'s for its own entries (UTC).', '');
  lines.push('| time | source | who | what | why |', '|---|---|---|---|---|');
  for (const e of p.timeline) {
    const why = [e.decision ? `decision: ${e.decision}` : '', e.operationId ? `operation ${e.operationId}` : ''].filter(Boolean).join('; ');
    lines.push(`| ${utc(e.at)} | ${e.source} | ${cell(e.who)} | ${cell(`${e.type}: ${e.summary}`)} | ${cell(why)} |`);
  }
  lines.push('');
  if (p.notes.length) {
    lines.push('## Notes', '');
    for (const n of p.notes) lines.push(`- ${utc(n.at)}, ${n.author}: ${n.text.replace(/\r?\n/g, ' ')}`);
    lines.push('');
  }
  lines.push('## Impact', '', '_To be written: who noticed, for how long writes or reads failed._', '');
  lines.push('## Root cause', '', '_To be written._', '');
  lines.push('## Action items', '', '- [ ] _To be written._', '');
  return lines.join('\n');
}
