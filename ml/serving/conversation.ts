import { renderChat } from '../../domain/data/datanet-spec.js';
import type { ChatMessage } from './prediction.js';

/** The text a model reads from a conversation: the turns' contents, one per line (as Datanet chat records are read). */
export function promptOf(messages: readonly ChatMessage[]): string {
  return renderChat(messages);
}
