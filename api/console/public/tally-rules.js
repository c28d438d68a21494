// Where a vote stands against the rules it closes under (domain/governance/tally.ts), for every
// page that draws a tally: turnout (cast / total power) against the quorum, yes / (yes + no)
// against the pass threshold, veto / cast against the veto threshold.

/**
 * @param t a tally as the API answers it (yes, no, abstain, veto, total; cast when known)
 * @param g the governance rules (quorum, passThreshold, vetoThreshold)
 * @returns one entry per rule: its key, a label, the share now, the share needed and whether it is met
 */
export function tallyRules(t, g) {
  const n = (v) => Number(v ?? 0);
  const cast = t.cast !== undefined ? n(t.cast) : n(t.yes) + n(t.no) + n(t.abstain) + n(t.veto);
  const share = (a, b) => (b > 0 ? a / b : 0);
  return [
    { key: 'quorum', label: 'turnout', now: share(cast, n(t.total)), need: g.quorum, met: (v, r) => v >= r },
    {
      key: 'pass',
      label: 'yes of yes+no',
      now: share(n(t.yes), n(t.yes) + n(t.no)),
      need: g.passThreshold,
      met: (v, r) => v > r,
    },
    { key: 'veto', label: 'veto of cast', now: share(n(t.veto), cast), need: g.vetoThreshold, met: (v, r) => v <= r },
  ].map(({ met, ...r }) => ({ ...r, met: met(r.now, r.need) }));
}
