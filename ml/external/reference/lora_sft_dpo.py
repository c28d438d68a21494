#!/usr/bin/env python3
"""Reference GPU trainer for Commons: LoRA supervised fine-tuning and DPO with PyTorch, PEFT and TRL.

How a GPU fleet uses it
-----------------------
Install the requirements next to a CUDA build of PyTorch (`pip install -r requirements.txt`) and
run the `gpu-training` and `gpu-rlhf` workers with

    COMMONS_TRAINER_COMMAND=python3
    COMMONS_TRAINER_ARGS=activities/training/external/reference/lora_sft_dpo.py
    COMMONS_BASE_MODEL=Qwen/Qwen2.5-0.5B-Instruct     # or a local directory the node can load

and choose the trainer per proposal with `params.training.trainer = "external"`. For every job the
worker (activities/training/external/external-trainer.ts) downloads the inputs from S3 into a work
directory, writes the job spec `job.json` (the format is in ../protocol.ts) and runs
`python3 lora_sft_dpo.py job.json`. Cancelling the activity sends SIGTERM to this process group,
then SIGKILL after a grace period.

Protocol: one JSON object per line on stdout (everything else, and all of stderr, is kept as log)
    {"type":"log","message":"..."}
    {"type":"progress","step":N,"totalSteps":T,"epoch":E,"loss":L}
    {"type":"checkpoint","step":N,"path":"<file in outputDir>"}      the worker uploads it to S3
    {"type":"result","metrics":{accuracy,macroF1,loss,examples},"artifact":"<file in outputDir>"}
    {"type":"result","outputs":[{"promptId","outputs":[{"output","score"}]}]}      (generate)
A retry after a crash gets `resume: {step, checkpointPath}` with the last checkpoint reported; the
Hugging Face Trainer restores optimizer, scheduler and RNG state from it and continues at that step.

Data: the worker hands over manifest records ({hash, contributor, text, label}) already split into
train/eval. They become TRL's formats here: {"prompt","completion"} for SFTTrainer and
{"prompt","chosen","rejected"} for DPOTrainer (the preferences arrive in that format). The model is
a causal LM used as a classifier: the prediction is the label whose first token is most likely after
the prompt. A model artifact is a tar of the PEFT adapter directory plus labels.json.
"""
import hashlib
import json
import math
import os
import sys
import tarfile
import tempfile

import torch
from datasets import Dataset
from peft import LoraConfig, PeftModel, get_peft_model, load_peft_weights, set_peft_model_state_dict
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
from trl import DPOConfig, DPOTrainer, SFTConfig, SFTTrainer

BASE_MODEL = os.environ.get("COMMONS_BASE_MODEL", "Qwen/Qwen2.5-0.5B-Instruct")
# Commons' learning rates are tuned for its linear CPU model; LoRA on an LLM needs far smaller ones.
# Caps, overridable per fleet: a small base model on a CPU learns within a few steps only at higher ones.
MAX_SFT_LR = float(os.environ.get("COMMONS_MAX_SFT_LR", "2e-4"))
MAX_DPO_LR = float(os.environ.get("COMMONS_MAX_DPO_LR", "5e-6"))
# How much of a record's text a prompt keeps: long enough for a real base model's context, and
# set lower for a small one (all-MiniLM-L6-v2 reads at most 512 tokens).
MAX_PROMPT_CHARS = int(os.environ.get("COMMONS_MAX_PROMPT_CHARS", "2000"))


def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def log(message):
    emit({"type": "log", "message": message})


def read_jsonl(path):
    # One JSON value per line, lines ended by "\n" alone (storage/jsonl.ts). Split on b"\n" only:
    # str.splitlines() also ends a line at U+0085, U+2028, U+2029 (which a manifest written before
    # they were escaped holds raw in a record's text), text mode at "\r", and open() without an
    # encoding decodes with the locale's.
    with open(path, "rb") as f:
        return [json.loads(line.decode("utf-8")) for line in f.read().split(b"\n") if line.strip()]


def prompt_for(text, labels):
    return f"Classify the following text as one of: {', '.join(labels)}.\n\nText: {text[:MAX_PROMPT_CHARS]}\n\nLabel:"


def generation_prompt(text):
    """A generation record's prompt (chat turns already rendered one per line, as Commons does)."""
    return f"{text[-MAX_PROMPT_CHARS:]}\nAnswer:"


def chat_prompt(messages):
    """The prompt for a chat request: its turns one per line, as Commons renders Datanet chat records."""
    return generation_prompt("\n".join(str(m.get("content", "")).strip() for m in messages))


def task_of(spec, labels=None):
    """The job's task: as the worker says, else from the artifact (a generation adapter has no labels)."""
    if spec.get("taskType"):
        return spec["taskType"]
    return "generation" if labels == [] else "classification"


@torch.no_grad()
def label_probabilities(model, tokenizer, prompt, labels):
    """Probability of each label: the softmax over the labels' first tokens after the prompt."""
    first_tokens = [tokenizer(" " + l, add_special_tokens=False).input_ids[0] for l in labels]
    enc = tokenizer(prompt, return_tensors="pt", truncation=True, max_length=context_of(tokenizer)).to(model.device)
    probs = torch.softmax(model(**enc).logits[0, -1].float()[first_tokens], -1).tolist()
    return dict(zip(labels, probs))


def token_f1(answer, reference):
    """SQuAD-style token F1 between an answer and the reference response."""
    a, r = answer.lower().split(), reference.lower().split()
    if not a or not r:
        return float(a == r)
    common = sum(min(a.count(t), r.count(t)) for t in set(a))
    if common == 0:
        return 0.0
    precision, recall = common / len(a), common / len(r)
    return 2 * precision * recall / (precision + recall)


def extract(archive, target):
    with tarfile.open(archive) as tar:
        # The "data" filter refuses absolute paths and links out of the target (Python >= 3.12, backported).
        if hasattr(tarfile, "data_filter"):
            tar.extractall(target, filter="data")
        else:
            tar.extractall(target)


def load_base():
    dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
    return AutoModelForCausalLM.from_pretrained(BASE_MODEL, dtype=dtype, device_map="auto")


def load_tokenizer():
    tokenizer = AutoTokenizer.from_pretrained(BASE_MODEL)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    # A prompt longer than the model reads loses its beginning, never the "Label:"/"Answer:" cue.
    tokenizer.truncation_side = "left"
    return tokenizer


def context_of(tokenizer):
    """Tokens the model reads at most (a tokenizer without a limit reports a huge number)."""
    return min(int(tokenizer.model_max_length), 4096)


def same_file(a, b):
    """Whether two downloaded artifacts have the same bytes (policy = reference in a first round)."""
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return hashlib.sha256(fa.read()).digest() == hashlib.sha256(fb.read()).digest()


def unpack_artifact(path, work):
    """Returns (adapter directory, labels) of a model artifact written by save_artifact."""
    target = tempfile.mkdtemp(dir=work)
    extract(path, target)
    with open(os.path.join(target, "labels.json")) as f:
        return os.path.join(target, "adapter"), json.load(f)


def save_artifact(model, labels, out_dir):
    """Saves the trainable ("default") adapter and the label set as one tar in outputDir."""
    adapter_dir = os.path.join(out_dir, "adapter")
    model.save_pretrained(adapter_dir, selected_adapters=["default"])
    labels_path = os.path.join(out_dir, "labels.json")
    with open(labels_path, "w") as f:
        json.dump(labels, f)
    with tarfile.open(os.path.join(out_dir, "model.tar"), "w") as tar:
        tar.add(adapter_dir, arcname="adapter")
        tar.add(labels_path, arcname="labels.json")
    return "model.tar"


class ProtocolCallback(TrainerCallback):
    """Forwards the HF Trainer's logged steps and saved checkpoints to the worker."""

    def __init__(self, out_dir):
        self.out_dir = out_dir

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            emit({"type": "progress", "step": state.global_step, "totalSteps": state.max_steps, "epoch": state.epoch or 0, "loss": logs["loss"]})

    def on_save(self, args, state, control, **kwargs):
        # The whole checkpoint-N directory (adapter, optimizer, scheduler, RNG) as one file to upload.
        name = f"checkpoint-{state.global_step}"
        archive = os.path.join(self.out_dir, f"{name}.tar")
        with tarfile.open(archive, "w") as tar:
            tar.add(os.path.join(args.output_dir, name), arcname=name)
        emit({"type": "checkpoint", "step": state.global_step, "path": os.path.basename(archive)})


def restore_checkpoint(spec, hf_dir):
    """Unpacks the resume checkpoint into the HF output directory; returns its path or None."""
    resume = spec.get("resume")
    if not resume:
        log(f"starting {spec['task']} at step 0")
        return None
    extract(resume["checkpointPath"], hf_dir)
    path = os.path.join(hf_dir, f"checkpoint-{resume['step']}")
    if not os.path.isdir(path):
        raise SystemExit(f"resume checkpoint has no checkpoint-{resume['step']} directory")
    log(f"starting {spec['task']} at step {resume['step']}")
    return path


def common_args(hp, hf_dir, tokenizer):
    return dict(
        output_dir=hf_dir,
        max_length=context_of(tokenizer),
        num_train_epochs=hp["epochs"],
        per_device_train_batch_size=int(hp["batchSize"]),
        seed=int(hp["seed"]),
        logging_steps=1,
        save_strategy="steps",
        save_steps=max(1, int(hp["checkpointEvery"])),
        report_to=[],
        disable_tqdm=True,  # progress goes through the protocol; keep stderr for real errors
        bf16=torch.cuda.is_available(),
        # TRL turns activation checkpointing on by default: memory for compute, which pays on a large
        # model on a GPU but makes a small model on a CPU several times slower.
        gradient_checkpointing=torch.cuda.is_available(),
    )


@torch.no_grad()
def evaluate(model, tokenizer, records, labels):
    """Accuracy, macro-F1 and cross-entropy of the most likely label."""
    model.eval()
    tp = {l: 0 for l in labels}
    fp = {l: 0 for l in labels}
    fn = {l: 0 for l in labels}
    correct, loss_sum = 0, 0.0
    for r in records:
        if r["label"] not in labels:
            continue
        probs = label_probabilities(model, tokenizer, prompt_for(r["text"], labels), labels)
        pred, gold = max(probs, key=probs.get), r["label"]
        loss_sum += -math.log(probs[gold] + 1e-12)
        if pred == gold:
            correct += 1
            tp[gold] += 1
        else:
            fp[pred] += 1
            fn[gold] += 1
    f1s = []
    for l in labels:
        precision = tp[l] / (tp[l] + fp[l]) if tp[l] + fp[l] else 0.0
        recall = tp[l] / (tp[l] + fn[l]) if tp[l] + fn[l] else 0.0
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    n = max(1, len(records))
    return {"accuracy": correct / n, "macroF1": sum(f1s) / len(f1s), "loss": loss_sum / n, "examples": len(records)}


@torch.no_grad()
def answer(model, tokenizer, prompt, max_new_tokens=48, sample_seed=None):
    """Greedy (or, with a seed, sampled) answer to a generation prompt."""
    enc = tokenizer(prompt, return_tensors="pt", truncation=True, max_length=context_of(tokenizer) // 2).to(model.device)
    kwargs = dict(max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    if sample_seed is None:
        kwargs["do_sample"] = False
    else:
        torch.manual_seed(sample_seed)
        kwargs.update(do_sample=True, top_p=0.9, temperature=0.9)
    out = model.generate(**enc, **kwargs)
    return tokenizer.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True).strip()


@torch.no_grad()
def evaluate_generation(model, tokenizer, records):
    """Commons' generation metrics on the held-out records: mean token-F1 as accuracy (and macroF1)."""
    model.eval()
    scores = [token_f1(answer(model, tokenizer, generation_prompt(r["text"])), r.get("response", "")) for r in records]
    mean = sum(scores) / len(scores) if scores else 0.0
    return {"accuracy": mean, "macroF1": mean, "loss": 1 - mean, "examples": len(records)}


def metrics_for(spec, model, tokenizer, records, labels):
    if task_of(spec, labels) == "generation":
        return evaluate_generation(model, tokenizer, records)
    return evaluate(model, tokenizer, records, labels)


def sft(spec, work):
    hp, labels, out = spec["hyperparams"], spec["labels"], spec["outputDir"]
    train = read_jsonl(spec["inputs"]["train"])
    held = read_jsonl(spec["inputs"]["eval"])
    tokenizer = load_tokenizer()
    if spec["inputs"].get("base"):
        adapter_dir, _ = unpack_artifact(spec["inputs"]["base"], work)
        model = PeftModel.from_pretrained(load_base(), adapter_dir, is_trainable=True)
    else:
        lora = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM")
        model = get_peft_model(load_base(), lora)
    # Prompt-completion format: SFTTrainer computes the loss on the completion (the label) only.
    if task_of(spec) == "generation":
        rows = [{"prompt": generation_prompt(r["text"]), "completion": " " + r.get("response", "")} for r in train]
    else:
        rows = [{"prompt": prompt_for(r["text"], labels), "completion": " " + r["label"]} for r in train]
    data = Dataset.from_list(rows)
    hf_dir = os.path.join(work, "hf")
    args = SFTConfig(**common_args(hp, hf_dir, tokenizer), learning_rate=min(hp["learningRate"], MAX_SFT_LR))
    trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer, callbacks=[ProtocolCallback(out)])
    trainer.train(resume_from_checkpoint=restore_checkpoint(spec, hf_dir))
    metrics = metrics_for(spec, trainer.model, tokenizer, held, labels)
    emit({"type": "result", "metrics": metrics, "artifact": save_artifact(trainer.model, labels, out)})


def dpo(spec, work):
    hp, out = spec["hyperparams"], spec["outputDir"]
    held = read_jsonl(spec["inputs"]["eval"])
    tokenizer = load_tokenizer()
    policy_dir, labels = unpack_artifact(spec["inputs"]["policy"], work)
    reference_dir, _ = unpack_artifact(spec["inputs"]["reference"], work)
    # One base model with two adapters: "default" is trained and "ref" stays frozen; TRL switches
    # to "ref" for the reference log-probabilities (no second copy of the base weights). TRL creates
    # "ref" as a copy of the policy; when the reference is another model, its weights replace the copy.
    model = PeftModel.from_pretrained(load_base(), policy_dir, is_trainable=True, adapter_name="default")
    # TRL's DPOTrainer has no per-pair weights; pairs without a positive consensus weight are dropped.
    make_prompt = generation_prompt if task_of(spec, labels) == "generation" else (lambda text: prompt_for(text, labels))
    pairs = [
        {"prompt": make_prompt(p["prompt"]), "chosen": " " + p["chosen"], "rejected": " " + p["rejected"]}
        for p in spec["preferences"]
        if p.get("weight", 1) > 0
    ]
    hf_dir = os.path.join(work, "hf")
    args = DPOConfig(
        **common_args(hp, hf_dir, tokenizer),
        learning_rate=min(hp["learningRate"], MAX_DPO_LR),
        beta=spec.get("beta", 0.1),
    )
    trainer = DPOTrainer(model=model, ref_model=None, args=args, train_dataset=Dataset.from_list(pairs), processing_class=tokenizer, callbacks=[ProtocolCallback(out)])
    if "ref" not in trainer.model.peft_config:
        raise SystemExit("this TRL did not create a reference adapter; use trl>=1.0 (requirements.txt)")
    if not same_file(spec["inputs"]["policy"], spec["inputs"]["reference"]):
        set_peft_model_state_dict(trainer.model, load_peft_weights(reference_dir), adapter_name="ref")
    trainer.train(resume_from_checkpoint=restore_checkpoint(spec, hf_dir))
    metrics = metrics_for(spec, trainer.model, tokenizer, held, labels)
    emit({"type": "result", "metrics": metrics, "artifact": save_artifact(trainer.model, labels, out)})


@torch.no_grad()
def generate(spec, work):
    """Candidates for RLHF review: ranked labels (classification) or sampled answers (generation)."""
    adapter_dir, labels = unpack_artifact(spec["inputs"]["model"], work)
    model = PeftModel.from_pretrained(load_base(), adapter_dir)
    model.eval()
    tokenizer = load_tokenizer()
    k = int(spec.get("candidatesPerPrompt", 2))
    outputs = []
    for p in spec["prompts"]:
        if task_of(spec, labels) == "generation":
            # The greedy answer plus sampled alternatives (seeded: a retried job proposes the same pair).
            seen, ranked = set(), []
            for i in range(k * 3):
                text = answer(model, tokenizer, generation_prompt(p["text"]), sample_seed=None if i == 0 else i)
                if text and text not in seen:
                    seen.add(text)
                    ranked.append({"output": text, "score": 1.0 / (1 + len(ranked))})
                if len(ranked) == k:
                    break
            outputs.append({"promptId": p["id"], "outputs": ranked})
        else:
            probs = label_probabilities(model, tokenizer, prompt_for(p["text"], labels), labels)
            ranked = sorted(probs.items(), key=lambda x: -x[1])[:k]
            outputs.append({"promptId": p["id"], "outputs": [{"output": l, "score": s} for l, s in ranked]})
    emit({"type": "result", "outputs": outputs})


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: lora_sft_dpo.py job.json")
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    work = os.path.dirname(os.path.abspath(sys.argv[1]))
    os.makedirs(spec["outputDir"], exist_ok=True)
    {"sft": sft, "dpo": dpo, "generate": generate}[spec["task"]](spec, work)


if __name__ == "__main__":
    main()
