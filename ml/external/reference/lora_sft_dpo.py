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
# Commons' learning rates are tuned for its linear CPU model; LoRA on an LLM needs far smaller ones.
MAX_SFT_LR = 2e-4
MAX_DPO_LR = 5e-6


def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def log(message):
    emit({"type": "log", "message": message})


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def prompt_for(text, labels):
    return f"Classify the following text as one of: {', '.join(labels)}.\n\nText: {text[:2000]}\n\nLabel:"


def extract(archive, target):
    with tarfile.open(archive) as tar:
        # The "data" filter refuses absolute paths and links out of the target (Python >= 3.12, backported).
        if hasattr(tarfile, "data_filter"):
            tar.extractall(target, filter="data")
        else:
            tar.extractall(target)


def load_base():
    dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
    return AutoModelForCausalLM.from_pretrained(BASE_MODEL, torch_dtype=dtype, device_map="auto")


def load_tokenizer():
    tokenizer = AutoTokenizer.from_pretrained(BASE_MODEL)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


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


def common_args(hp, hf_dir):
    return dict(
        output_dir=hf_dir,
        num_train_epochs=hp["epochs"],
        per_device_train_batch_size=int(hp["batchSize"]),
        seed=int(hp["seed"]),
        logging_steps=1,
        save_strategy="steps",
        save_steps=max(1, int(hp["checkpointEvery"])),
        report_to=[],
        disable_tqdm=True,  # progress goes through the protocol; keep stderr for real errors
        bf16=torch.cuda.is_available(),
    )


@torch.no_grad()
def evaluate(model, tokenizer, records, labels):
    """Accuracy, macro-F1 and cross-entropy of the label whose first token is most likely."""
    model.eval()
    first_tokens = [tokenizer(" " + l, add_special_tokens=False).input_ids[0] for l in labels]
    tp = {l: 0 for l in labels}
    fp = {l: 0 for l in labels}
    fn = {l: 0 for l in labels}
    correct, loss_sum = 0, 0.0
    for r in records:
        if r["label"] not in labels:
            continue
        enc = tokenizer(prompt_for(r["text"], labels), return_tensors="pt").to(model.device)
        scores = model(**enc).logits[0, -1].float()[first_tokens]
        probs = torch.softmax(scores, -1)
        pred, gold = labels[int(scores.argmax())], r["label"]
        loss_sum += -float(torch.log(probs[labels.index(gold)] + 1e-12))
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
    data = Dataset.from_list([{"prompt": prompt_for(r["text"], labels), "completion": " " + r["label"]} for r in train])
    hf_dir = os.path.join(work, "hf")
    args = SFTConfig(**common_args(hp, hf_dir), learning_rate=min(hp["learningRate"], MAX_SFT_LR))
    trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer, callbacks=[ProtocolCallback(out)])
    trainer.train(resume_from_checkpoint=restore_checkpoint(spec, hf_dir))
    metrics = evaluate(trainer.model, tokenizer, held, labels)
    emit({"type": "result", "metrics": metrics, "artifact": save_artifact(trainer.model, labels, out)})


def dpo(spec, work):
    hp, out = spec["hyperparams"], spec["outputDir"]
    held = read_jsonl(spec["inputs"]["eval"])
    tokenizer = load_tokenizer()
    policy_dir, labels = unpack_artifact(spec["inputs"]["policy"], work)
    reference_dir, _ = unpack_artifact(spec["inputs"]["reference"], work)
    # One base model with two adapters: "default" is trained, "reference" stays frozen and TRL
    # switches to it for the reference log-probabilities (no second copy of the base weights).
    model = PeftModel.from_pretrained(load_base(), policy_dir, is_trainable=True, adapter_name="default")
    model.load_adapter(reference_dir, adapter_name="reference", is_trainable=False)
    model.set_adapter("default")
    # TRL's DPOTrainer has no per-pair weights; pairs without a positive consensus weight are dropped.
    pairs = [
        {"prompt": prompt_for(p["prompt"], labels), "chosen": " " + p["chosen"], "rejected": " " + p["rejected"]}
        for p in spec["preferences"]
        if p.get("weight", 1) > 0
    ]
    hf_dir = os.path.join(work, "hf")
    args = DPOConfig(
        **common_args(hp, hf_dir),
        learning_rate=min(hp["learningRate"], MAX_DPO_LR),
        beta=spec.get("beta", 0.1),
        model_adapter_name="default",
        ref_adapter_name="reference",
    )
    trainer = DPOTrainer(model=model, ref_model=None, args=args, train_dataset=Dataset.from_list(pairs), processing_class=tokenizer, callbacks=[ProtocolCallback(out)])
    trainer.train(resume_from_checkpoint=restore_checkpoint(spec, hf_dir))
    metrics = evaluate(trainer.model, tokenizer, held, labels)
    emit({"type": "result", "metrics": metrics, "artifact": save_artifact(trainer.model, labels, out)})


@torch.no_grad()
def generate(spec, work):
    """Candidates for RLHF review: the labels ranked by the model's probability for each prompt."""
    adapter_dir, labels = unpack_artifact(spec["inputs"]["model"], work)
    model = PeftModel.from_pretrained(load_base(), adapter_dir)
    model.eval()
    tokenizer = load_tokenizer()
    first_tokens = [tokenizer(" " + l, add_special_tokens=False).input_ids[0] for l in labels]
    k = int(spec.get("candidatesPerPrompt", 2))
    outputs = []
    for p in spec["prompts"]:
        enc = tokenizer(prompt_for(p["text"], labels), return_tensors="pt").to(model.device)
        probs = torch.softmax(model(**enc).logits[0, -1].float()[first_tokens], -1).tolist()
        ranked = sorted(zip(labels, probs), key=lambda x: -x[1])[:k]
        outputs.append({"promptId": p["id"], "outputs": [{"output": l, "score": s} for l, s in ranked]})
    emit({"type": "result", "outputs": outputs})


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: lora_sft_dpo.py job.json")
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    work = os.path.dirname(os.path.abspath(sys.argv[1]))
    os.makedirs(spec["outputDir"], exist_ok=True)
    {"sft": sft, "dpo": dpo, "generate": generate}[spec["task"]](spec, work)


if __name__ == "__main__":
    main()
