"""NanoFlux's three-role game written as a distilabel pipeline: the peer of bench/peer-throughput.ts.

    attacker (Task, OpenAILLM) -> novelty (embeddings + cosine vs every earlier question)
      -> defender (Task, OpenAILLM) -> judge (Task, OpenAILLM) -> decide
      -> [record (every judged episode), keep_accepted (the dataset)]

It sends the messages NanoFlux sends: the prompts are rendered from NanoFlux's own templates
(prompts/<version>/<role>.md, the same {{placeholder}} and <<<FENCE rules as activities/game/prompts.ts),
with the same temperatures and the same JSON-schema response_format (the schemas come from the
spec file that bench/peer-throughput.ts writes from common/game.ts), so a scripted server answers
both implementations alike.

Concurrency: distilabel has no global "requests in flight" setting. An LLM step sends the rows of
one input batch concurrently (AsyncLLM.generate gathers one request per row) and takes the next
batch when the whole batch is back, so `input_batch_size` is the knob: every LLM step gets
`--concurrency` (and the generator yields batches of that size). The steps run in their own
processes, so the attacker, defender and judge steps overlap on different batches: up to 3x
`--concurrency` calls can be in flight at once. The benchmark measures what actually happens.

Usage (what bench/peer-throughput.ts runs; needs the spec it writes and a server to talk to):
    bench/peer/.venv/bin/python bench/peer/three_roles.py --spec SPEC.json --base-url URL \
        --episodes 80 --concurrency 4
Prints one JSON object on its last stdout line: episodes, accepted, outcomes, wall_s, model_calls.
"""

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

_T_START = time.perf_counter()

os.environ.setdefault("DISTILABEL_LOG_LEVEL", "WARNING")

import numpy as np  # noqa: E402
from pydantic import PrivateAttr  # noqa: E402

from distilabel.models import OpenAILLM  # noqa: E402
from distilabel.models.embeddings.base import Embeddings  # noqa: E402
from distilabel.pipeline import Pipeline  # noqa: E402
from distilabel.steps import EmbeddingGeneration, LoadDataFromDicts, Step, StepInput  # noqa: E402
from distilabel.steps.tasks import Task  # noqa: E402

_T_IMPORTED = time.perf_counter()


# --- prompts: a port of activities/game/prompts.ts -------------------------------------------------


def render(template: str, variables: Dict[str, Any]) -> str:
    def one(m: "re.Match[str]") -> str:
        name = m.group(1)
        if name not in variables:
            raise KeyError(f"prompt placeholder {{{{{name}}}}} has no value")
        return str(variables[name])

    return re.sub(r"\{\{(\w+)\}\}", one, template)


def fence(label: str, text: str) -> str:
    return f"<<<{label}\n{text.replace('<<<', '‹‹‹').replace('>>>', '›››')}\n{label}>>>"


def role_messages(prompts_dir: str, version: str, role: str, variables: Dict[str, Any]) -> List[Dict[str, str]]:
    text = (Path(prompts_dir) / version / f"{role}.md").read_text(encoding="utf8")
    parts = re.split(r"^---$", text, flags=re.M)
    if len(parts) < 2:
        raise ValueError(f"prompt template {version}/{role}.md has no --- line")
    return [
        {"role": "system", "content": render(parts[0].strip(), variables)},
        {"role": "user", "content": render(parts[1].strip(), variables)},
    ]


def domain_notes(prompts_dir: str, version: str, pack: str) -> str:
    if pack == "none":
        return ""
    return (Path(prompts_dir) / version / "domains" / f"{pack}.md").read_text(encoding="utf8").strip()


def parse_json(output: Optional[str], required: List[str]) -> Optional[Dict[str, Any]]:
    """NanoFlux validates each answer against its zod schema; the peer checks it parses and has the fields."""
    if not output:
        return None
    try:
        value = json.loads(output)
    except json.JSONDecodeError:
        return None
    if not isinstance(value, dict) or any(k not in value for k in required):
        return None
    return value


# --- call counting (the steps run in their own processes: one line per call, appended to a file) --


def count_call(log: str, kind: str) -> None:
    if log:
        with open(log, "a", encoding="utf8") as f:
            f.write(kind + "\n")


class CountedOpenAILLM(OpenAILLM):
    """distilabel's OpenAILLM, unchanged, plus one line in `call_log` per request."""

    call_log: str = ""
    call_kind: str = "chat"

    # Not agenerate: distilabel reads its signature to list the generation parameters.
    async def _generate_chat_completion(self, input, **kwargs):  # type: ignore[override]
        count_call(self.call_log, self.call_kind)
        return await super()._generate_chat_completion(input, **kwargs)


class OpenAICompatibleEmbeddings(Embeddings):
    """distilabel 1.5.3 ships only local embedding models (sentence-transformers, vLLM, llama.cpp);
    this is its `Embeddings` interface over an OpenAI-compatible /embeddings endpoint."""

    model: str
    base_url: str
    api_key: str = "bench-key"
    call_log: str = ""
    _client: Any = PrivateAttr(None)

    def load(self) -> None:
        super().load()
        from openai import OpenAI

        self._client = OpenAI(base_url=self.base_url, api_key=self.api_key, max_retries=6, timeout=120)

    @property
    def model_name(self) -> str:
        return self.model

    def encode(self, inputs: List[str]) -> List[List[float]]:
        count_call(self.call_log, "embeddings")
        r = self._client.embeddings.create(model=self.model, input=inputs)
        return [d.embedding for d in sorted(r.data, key=lambda d: d.index)]


# --- the three roles -------------------------------------------------------------------------


class PromptedTask(Task):
    prompts_dir: str
    prompt_version: str = "v1"
    brief: str = ""
    pack: str = "none"


class Attacker(PromptedTask):
    @property
    def inputs(self) -> List[str]:
        return ["episode", "topic", "target_complexity", "target_hops", "defender_profile"]

    @property
    def outputs(self) -> List[str]:
        return ["question", "reference_answer", "solution_steps", "skill", "annotation", "attack_ok"]

    def format_input(self, input: Dict[str, Any]):  # type: ignore[override]
        return role_messages(self.prompts_dir, self.prompt_version, "attacker", {
            "domainNotes": domain_notes(self.prompts_dir, self.prompt_version, self.pack),
            "brief": self.brief,
            "topic": input["topic"],
            "targetComplexity": input["target_complexity"],
            "targetHops": input["target_hops"],
            "defenderProfile": input["defender_profile"],
        })

    def format_output(self, output: Optional[str], input: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        v = parse_json(output, ["question", "referenceAnswer", "solutionSteps", "skill", "annotation"])
        if v is None:
            return {"question": "", "reference_answer": "", "solution_steps": [], "skill": "", "annotation": "", "attack_ok": False}
        return {"question": v["question"], "reference_answer": v["referenceAnswer"], "solution_steps": v["solutionSteps"], "skill": v["skill"], "annotation": v["annotation"], "attack_ok": True}


class Defender(PromptedTask):
    @property
    def inputs(self) -> List[str]:
        return ["question"]

    @property
    def outputs(self) -> List[str]:
        return ["defender_reasoning", "defender_answer", "defense_ok"]

    def format_input(self, input: Dict[str, Any]):  # type: ignore[override]
        return role_messages(self.prompts_dir, self.prompt_version, "defender", {"brief": self.brief, "question": fence("QUESTION", input["question"])})

    def format_output(self, output: Optional[str], input: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        v = parse_json(output, ["reasoning", "answer"])
        if v is None:
            return {"defender_reasoning": "", "defender_answer": "", "defense_ok": False}
        return {"defender_reasoning": v["reasoning"], "defender_answer": v["answer"], "defense_ok": True}


class Judge(PromptedTask):
    @property
    def inputs(self) -> List[str]:
        return ["question", "reference_answer", "solution_steps", "defender_reasoning", "defender_answer"]

    @property
    def outputs(self) -> List[str]:
        return ["question_valid", "reference_correct", "defender_correct", "complexity", "hops", "quality", "explanation", "verdict_ok"]

    def format_input(self, input: Dict[str, Any]):  # type: ignore[override]
        defenders = f"{fence('DEFENDER_REASONING', input['defender_reasoning'])}\n{fence('DEFENDER_ANSWER', input['defender_answer'])}"
        steps = "\n".join(f"{i + 1}. {s}" for i, s in enumerate(input["solution_steps"]))
        return role_messages(self.prompts_dir, self.prompt_version, "judge", {
            "defenderField": "defenderCorrect",
            "defenders": defenders,
            "domainNotes": domain_notes(self.prompts_dir, self.prompt_version, self.pack),
            "brief": self.brief,
            "question": fence("QUESTION", input["question"]),
            "referenceAnswer": fence("REFERENCE_ANSWER", input["reference_answer"]),
            "referenceSteps": fence("REFERENCE_STEPS", steps),
        })

    def format_output(self, output: Optional[str], input: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        keys = ["questionValid", "referenceCorrect", "defenderCorrect", "complexity", "hops", "quality", "explanation"]
        v = parse_json(output, keys)
        if v is None:
            return {"question_valid": False, "reference_correct": False, "defender_correct": False, "complexity": 0, "hops": 0, "quality": 0.0, "explanation": "", "verdict_ok": False}
        return {"question_valid": bool(v["questionValid"]), "reference_correct": bool(v["referenceCorrect"]), "defender_correct": bool(v["defenderCorrect"]), "complexity": v["complexity"], "hops": v["hops"], "quality": float(v["quality"]), "explanation": v["explanation"], "verdict_ok": True}


# --- novelty and decision --------------------------------------------------------------------


class NoveltyCheck(Step):
    """Drops a question whose cosine with an earlier question of this run is at or above the
    threshold (a duplicate: no defender or judge call is spent on it), like NanoFlux's checkNovelty.
    The embeddings are L2-normalised by the server, so the dot product is the cosine. State lives in
    this step's process, across batches. Also drops attacks that failed (NanoFlux: a failed episode)."""

    threshold: float = 0.85
    _seen: List[np.ndarray] = PrivateAttr(default_factory=list)

    @property
    def inputs(self) -> List[str]:
        return ["question", "embedding", "attack_ok"]

    @property
    def outputs(self) -> List[str]:
        return ["nearest"]

    def process(self, inputs: StepInput):  # type: ignore[override]
        kept = []
        for row in inputs:
            if not row["attack_ok"]:
                continue
            v = np.asarray(row.pop("embedding"), dtype=np.float32)
            nearest = float(np.max(np.stack(self._seen) @ v)) if self._seen else 0.0
            if nearest >= self.threshold:
                continue
            self._seen.append(v)
            row["nearest"] = nearest
            row.pop("model_name", None)
            kept.append(row)
        yield kept


def decide(row: Dict[str, Any]) -> str:
    """workflows/logic/decide.ts, same order of checks."""
    if not row.get("defense_ok") or not row.get("verdict_ok"):
        return "failed"
    if not row["question_valid"]:
        return "invalid_question"
    if not row["reference_correct"]:
        return "reference_wrong"
    if row["defender_correct"]:
        return "defender_correct"
    return "accepted"


class Decide(Step):
    @property
    def inputs(self) -> List[str]:
        return ["question_valid", "reference_correct", "defender_correct"]

    @property
    def outputs(self) -> List[str]:
        return ["outcome"]

    def process(self, inputs: StepInput):  # type: ignore[override]
        for row in inputs:
            row["outcome"] = decide(row)
        yield inputs


class Record(Step):
    """Every judged episode (NanoFlux's episode log): keeps the episode number and the outcome."""

    @property
    def inputs(self) -> List[str]:
        return ["episode", "outcome"]

    @property
    def outputs(self) -> List[str]:
        return []

    def process(self, inputs: StepInput):  # type: ignore[override]
        yield [{"episode": r["episode"], "outcome": r["outcome"]} for r in inputs]


class KeepAccepted(Step):
    """The dataset: accepted episodes only (NanoFlux's storeExample)."""

    @property
    def inputs(self) -> List[str]:
        return ["outcome"]

    @property
    def outputs(self) -> List[str]:
        return []

    def process(self, inputs: StepInput):  # type: ignore[override]
        yield [r for r in inputs if r["outcome"] == "accepted"]


# --- the pipeline ----------------------------------------------------------------------------


def build(spec: Dict[str, Any], base_url: str, episodes: int, concurrency: int, call_log: str, cache_dir: str) -> Pipeline:
    d = spec["domain"]
    temps = spec["temperatures"]
    topics = d["topics"]
    rows = [
        {
            "episode": n,
            "topic": topics[n % len(topics)],
            "target_complexity": spec["targetComplexity"],
            "target_hops": spec["targetHops"],
            # NanoFlux feeds the Defender's record back to the Attacker; a distilabel DAG is
            # feed-forward, so every episode gets the profile NanoFlux shows before any result.
            "defender_profile": "(no scored episodes yet)",
        }
        for n in range(episodes)
    ]

    def llm(model: str, schema_name: str, temperature: float) -> CountedOpenAILLM:
        response_format = {"type": "json_schema", "json_schema": {"name": schema_name, "schema": spec["schemas"][schema_name], "strict": True}}
        return CountedOpenAILLM(
            model=model,
            base_url=base_url,
            api_key="bench-key",
            timeout=120,
            call_log=call_log,
            # agenerate's own `response_format` argument is typed Dict[str, str] (json_object mode
            # only), so the JSON-schema format goes in the body as extra_body: the same request.
            generation_kwargs={"temperature": temperature, "max_new_tokens": 4096, "extra_body": {"response_format": response_format}},
        )

    common = {"prompts_dir": spec["promptsDir"], "prompt_version": spec["promptVersion"], "brief": d["brief"], "pack": d["pack"]}
    with Pipeline(name="nanoflux-peer", cache_dir=cache_dir) as pipeline:
        load = LoadDataFromDicts(name="episodes", data=rows, batch_size=concurrency)
        attacker = Attacker(name="attacker", llm=llm(spec["models"]["a"], "attack", temps["attacker"]), input_batch_size=concurrency, add_raw_output=False, add_raw_input=False, **common)
        embed = EmbeddingGeneration(
            name="embed",
            embeddings=OpenAICompatibleEmbeddings(model=spec["models"]["embedding"], base_url=base_url, call_log=call_log),
            input_mappings={"text": "question"},
            input_batch_size=concurrency,
        )
        novelty = NoveltyCheck(name="novelty", threshold=spec["noveltyThreshold"], input_batch_size=concurrency)
        defender = Defender(name="defender", llm=llm(spec["models"]["b"], "defense", temps["defender"]), input_batch_size=concurrency, add_raw_output=False, add_raw_input=False, **common)
        judge = Judge(name="judge", llm=llm(spec["models"]["judge"], "verdict", temps["judge"]), input_batch_size=concurrency, add_raw_output=False, add_raw_input=False, **common)
        decider = Decide(name="decide", input_batch_size=concurrency)
        record = Record(name="record", input_batch_size=concurrency)
        keep = KeepAccepted(name="keep_accepted", input_batch_size=concurrency)
        load >> attacker >> embed >> novelty >> defender >> judge >> decider >> [record, keep]
    return pipeline


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--spec", required=True, help="JSON written by bench/peer-throughput.ts: prompts, schemas, domain, temperatures")
    p.add_argument("--base-url", required=True, help="OpenAI-compatible base URL (…/v1)")
    p.add_argument("--episodes", type=int, default=80)
    p.add_argument("--concurrency", type=int, default=4, help="input_batch_size of every step")
    a = p.parse_args()
    spec = json.loads(Path(a.spec).read_text(encoding="utf8"))

    work = tempfile.mkdtemp(prefix="nf-peer-")
    call_log = os.path.join(work, "calls.log")
    try:
        pipeline = build(spec, a.base_url, a.episodes, a.concurrency, call_log, os.path.join(work, "cache"))
        t0 = time.perf_counter()
        distiset = pipeline.run(use_cache=False)
        wall = time.perf_counter() - t0
        recorded = list(distiset["record"]["train"]) if "record" in distiset else []
        accepted = list(distiset["keep_accepted"]["train"]) if "keep_accepted" in distiset else []
        outcomes: Dict[str, int] = {}
        for r in recorded:
            outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + 1
        not_judged = a.episodes - len(recorded)
        if not_judged:
            outcomes["duplicate_or_failed_attack"] = not_judged
        calls: Dict[str, int] = {}
        if os.path.exists(call_log):
            for line in Path(call_log).read_text(encoding="utf8").split():
                calls[line] = calls.get(line, 0) + 1
        # `chat` counts every chat request (attacker, defender, judge); `embeddings` every /embeddings request.
        out = {
            "episodes": a.episodes,
            "accepted": len(accepted),
            "outcomes": outcomes,
            "wall_s": round(wall, 3),
            "startup_s": round(_T_IMPORTED - _T_START, 3),
            "model_calls": {"chat": calls.get("chat", 0), "embeddings": calls.get("embeddings", 0), "total": sum(calls.values())},
            "concurrency": {"input_batch_size": a.concurrency},
            "distilabel": __import__("distilabel").__version__,
        }
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
