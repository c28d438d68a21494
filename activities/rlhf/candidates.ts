/** A held-out prompt with the candidate outputs a review task asks reviewers to choose among. */
export interface CandidateItem {
  promptId: string;
  prompt: string;
  outputs: { output: string; score: number }[];
  /** Known answer of a gold item (staked rounds); stored, never shown before settlement. */
  gold?: string;
}
