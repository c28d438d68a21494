#!/usr/bin/env python3
"""Reference GPU trainer for Commons: LoRA supervised fine-tuning and DPO with PEFT + TRL.

A GPU fleet runs the `gpu-training` and `gpu-rlhf` workers with
    COMMONS_TRAINER_COMMAND=python3
    COMMONS_TRAINER_ARGS=activities/training/external/reference/lora_sft_dpo.py
and lifecycles with `params.training.trainer = "external"`. The worker downloads the inputs from
S3, writes a job spec (activities/training/external/protocol.ts) and runs `python3 this.py job.json`.
This script prints JSON lines on stdout:
    {"type":"progress","step":..,"totalSteps":..,"epoch":..,"loss":..}
    {"type":"checkpoint","step":..,"path":"<file in outputDir>"}   (the worker uploads it to S3)
    {"type":"result","metrics":{...},"artifact":"<file in outputDir>"}   or  "outputs":[...] for generate
Everything else it prints is kept as log. On SIGTERM it stops; a retry passes `resume` with the last
checkpoint it reported. The base model is named by COMMONS_BASE_MODEL (a local path or hub id the
node can load); records are turned into TRL's formats: {"prompt","completion"} for SFT and
{"prompt","chosen","rejected"} for DPO.
"""
import json
import os
import sys
import tarfile
import tempfile

import torch
from datasets import Dataset
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
from trl import DPOConfig, DPOTrainer, SFTConfig, SFTTrainer

BASE_MODEL = os.environ.get("COMMONS_BASE_MODEL", "Qwen/Qwen2.5-0.5B-Instruct")


def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def prompt_for(text, labels):
    return f"Classify the following text as one of: {', '.join(labels)}.\n\nText: {text[:2000]}\n\nLabel:"


def is_eval(record_hash, fraction):
    # Same split rule as the embedded trainer: FNV-1a of the content hash below the fraction.
    h = 0x811C9DC5
    for ch in record_hash:
        h ^= ord(ch)
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h / 2**32 < fraction


class ProgressCallback(TrainerCallback):
    """Forwards the HF Trainer's steps and checkpoints to the worker."""

    def __init__(self, output_dir):
        self.output_dir = output_dir

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            emit({"type": "progress", "step": state.global_step, "totalSteps": state.max_steps, "epoch": state.epoch or 0, "loss": logs["loss"]})

    def on_save(self, args, state, control, **kwargs):
        ckpt = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
        archive = os.path.join(self.output_dir, f"checkpoint-{state.global_step}.tar")
        with tarfile.open(archive, "w") as tar:
            tar.add(ckpt, arcname=f"checkpoint-{state.global_step}")
        emit({"type": "checkpoint", "step": state.global_step, "path": os.path.basename(archive)})


def restore_checkpoint(resume, work):
    if not resume:
        return None
    with tarfile.open(resume["checkpointPath"]) as tar:
        tar.extractall(work)
    return os.path.join(work, f"checkpoint-{resume['step']}")


def load_adapter_archive(path, work):
    """A model artifact is a tar of a saved PEFT adapter directory."""
    target = tempfile.mkdtemp(dir=work)
    with tarfile.open(path) as tar:
        tar.extractall(target)
    model = AutoModelForCausalLM.from_pretrained(BASE_MODEL, torch_dtype=torch.bfloat16, device_map="auto")
    return PeftModel.from_pretrained(model, os.path.join(target, "adapter"), is_trainable=True)


def save_adapter_archive(model, out_dir):
    adapter_dir = os.path.join(out_dir, "adapter")
    model.save_pretrained(adapter_dir)
    archive = os.path.join(out_dir, "model.tar")
    with tarfile.open(archive, "w") as tar:
        tar.add(adapter_dir, arcname="adapter")
    return "model.tar"


@torch.no_grad()
def evaluate(model, tokenizer, records, labels):
    """Accuracy and macro-F1 of picking the label with the highest log-likelihood."""
    model.eval()
    label_ids = [tokenizer(" " + l, add_special_tokens=False).input_ids for l in labels]
    tp = {l: 0 for l in labels}
    fp = {l: 0 for l in labels}
    fn = {l: 0 for l in labels}
    correct, loss_sum = 0, 0.0
    for r in records:
        enc = tokenizer(prompt_for(r["text"], labels), return_tensors="pt").to(model.device)
        logits = model(**enc).logits[0, -1].float()
        logp = torch.log_softmax(logits, -1)
        scores = torch.stack([logp[ids[0]] for ids in label_ids])
        probs = torch.softmax(scores, -1)
        pred = labels[int(scores.argmax())]
        gold = r["label"]
        loss_sum += -float(torch.log(probs[labels.index(gold)] + 1e-12))
        if pred == gold:
            correct += 1
            tp[gold] += 1
        else:
            fp[pred] += 1
            fn[gold] += 1
    f1s = []
    for l in labels:
        p = tp[l] / (tp[l] + fp[l]) if tp[l] + fp[l] else 0.0
        rc = tp[l] / (tp[l] + fn[l]) if tp[l] + fn[l] else 0.0
        f1s.append(2 * p * rc / (p + rc) if p + rc else 0.0)
    n = max(1, len(records))
    return {"accuracy": correct / n, "macroF1": sum(f1s) / len(f1s), "loss": loss_sum / n, "examples": len(records)}


def lora_config():
    return LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM")


def sft(spec, work):
    hp, labels = spec["hyperparams"], spec["labels"]
    records = read_jsonl(spec["inputs"]["dataset"])
    train = [r for r in records if not is_eval(r["hash"], hp.get("evalFraction", 0.2))]
    held = [r for r in records if is_eval(r["hash"], hp.get("evalFraction", 0.2))]
    tokenizer = AutoTokenizer.from_pretrained(BASE_MODEL)
    if spec["inputs"].get("base"):
        model = load_adapter_archive(spec["inputs"]["base"], work)
    else:
        model = get_peft_model(AutoModelForCausalLM.from_pretrained(BASE_MODEL, torch_dtype=torch.bfloat16, device_map="auto"), lora_config())
    data = Dataset.from_list([{"prompt": prompt_for(r["text"], labels), "completion": " " + r["label"]} for r in train])
    args = SFTConfig(
        output_dir=os.path.join(work, "hf"),
        num_train_epochs=hp["epochs"],
        learning_rate=min(hp["learningRate"], 2e-4),
        per_device_train_batch_size=int(hp["batchSize"]),
        seed=int(hp["seed"]),
        logging_steps=1,
        save_steps=int(hp["checkpointEvery"]),
        save_strategy="steps",
        report_to=[],
        bf16=torch.cuda.is_available(),
    )
    trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer, callbacks=[ProgressCallback(spec["outputDir"])])
    trainer.train(resume_from_checkpoint=restore_checkpoint(spec.get("resume"), os.path.join(work, "hf")))
    metrics = evaluate(trainer.model, tokenizer, held, labels)
    emit({"type": "result", "metrics": metrics, "artifact": save_adapter_archive(trainer.model, spec["outputDir"])})


def dpo(spec, work):
    hp = spec["hyperparams"]
    held = read_jsonl(spec["inputs"]["eval"])
    labels = sorted({r["label"] for r in held})
    tokenizer = AutoTokenizer.from_pretrained(BASE_MODEL)
    policy = load_adapter_archive(spec["inputs"]["policy"], work)
    reference = load_adapter_archive(spec["inputs"]["reference"], work)
    pairs = [{"prompt": prompt_for(p["prompt"], labels), "chosen": " " + p["chosen"], "rejected": " " + p["rejected"]} for p in spec["preferences"]]
    args = DPOConfig(
        output_dir=os.path.join(work, "hf"),
        beta=spec.get("beta", 0.1),
        num_train_epochs=hp["epochs"],
        learning_rate=min(hp["learningRate"], 5e-6),
        per_device_train_batch_size=int(hp["batchSize"]),
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        bf16=torch.cuda.is_available(),
    )
    trainer = DPOTrainer(model=policy, ref_model=reference, args=args, train_dataset=Dataset.from_list(pairs), processing_class=tokenizer, callbacks=[ProgressCallback(spec["outputDir"])])
    trainer.train()
    metrics = evaluate(trainer.model, tokenizer, held, labels)
    emit({"type": "result", "metrics": metrics, "artifact": save_adapter_archive(trainer.model, spec["outputDir"])})


@torch.no_grad()
def generate(spec, work):
    model = load_adapter_archive(spec["inputs"]["model"], work)
    tokenizer = AutoTokenizer.from_pretrained(BASE_MODEL)
    labels = spec.get("labels") or ["spam", "ham"]
    label_ids = [tokenizer(" " + l, add_special_tokens=False).input_ids[0] for l in labels]
    outputs = []
    for p in spec["prompts"]:
        enc = tokenizer(prompt_for(p["text"], labels), return_tensors="pt").to(model.device)
        probs = torch.softmax(model(**enc).logits[0, -1].float()[label_ids], -1).tolist()
        ranked = sorted(zip(labels, probs), key=lambda x: -x[1])[: spec.get("candidatesPerPrompt", 2)]
        outputs.append({"promptId": p["id"], "outputs": [{"output": l, "score": s} for l, s in ranked]})
    emit({"type": "result", "outputs": outputs})


def main():
    spec = json.load(open(sys.argv[1]))
    work = os.path.dirname(os.path.abspath(sys.argv[1]))
    {"sft": sft, "dpo": dpo, "generate": generate}[spec["task"]](spec, work)


if __name__ == "__main__":
    main()
