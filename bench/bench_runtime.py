"""Runtime benchmark on the bundled model: load times, tokens/s plain vs constrained vs run_task, peak RSS.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_runtime.py [--task estimand-card|smoke] [--repeats 2]

Same prompt for all three paths (the task's system + user prompt through the chat template):
  plain        model.generate, greedy, no grammar, runs to max_new_tokens (nothing stops it)
  constrained  model.generate with a fresh xgrammar logits processor for the task schema
  run_task     the app's full path: session lock, grammar, streaming callback, parse, AIInteraction
Figures are medians over --repeats. The machine's load average is printed: other processes on the
same cores slow every figure, so compare the ratios more than the absolute numbers.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def rss_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="estimand-card", help="estimand-card (default) or smoke")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    args = parser.parse_args()

    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    started = time.perf_counter()
    import torch
    import transformers  # noqa: F401

    from causal_core import runtime
    from causal_core.ai.structured import DecodingSettings
    from causal_core.runtime import grammar, local_hf, parsing, sessions
    from causal_core.runtime import queue as request_queue

    import_s = time.perf_counter() - started
    print(f"import torch + transformers + runtime: {import_s:.2f} s   (torch threads {torch.get_num_threads()})")

    if args.task == "smoke":
        from causal_core.runtime.smoke import SMOKE_TASK as task

        inputs: dict = {}
    else:
        from causal_core.ai.tasks import get_task
        from causal_core.data import project_for_builtin

        task = get_task(args.task)
        project, frame = project_for_builtin("retention")
        inputs = task.build_inputs(project, frame) if task.build_inputs else {"brief": project.brief}

    # ---------------------------------------------------------------- load times
    # Three loads in one process: the GGUF path with the converted-copy cache off (the baseline), the GGUF
    # path writing the copy into a fresh folder, and the load that reads the copy (what every later start sees).
    import tempfile

    def timed_load() -> tuple[float, object]:
        runtime.unload("bundled")
        clock = time.perf_counter()
        loaded = sessions.get_session("bundled")
        return time.perf_counter() - clock, loaded

    os.environ["CW_MODEL_CACHE"] = "off"
    gguf_s, session = timed_load()
    clock = time.perf_counter()
    assert sessions.get_session("bundled") is session
    cached_ms = (time.perf_counter() - clock) * 1000
    with tempfile.TemporaryDirectory(prefix="cw-bench-cache-") as folder:
        os.environ["CW_MODEL_CACHE"] = folder
        writing_s, _ = timed_load()
        copy_s, session = timed_load()
    print(f"load from the GGUF (cache off, first in process): {gguf_s:6.2f} s")
    print(f"load from the GGUF + write the converted copy:    {writing_s:6.2f} s")
    print(f"load from the converted copy:                     {copy_s:6.2f} s   ({gguf_s / copy_s:.0f}x faster)")
    print(f"cached session lookup:                            {cached_ms:6.3f} ms")
    print(f"session memory footprint:                         {session.memory_bytes() / 1e9:6.3f} GB")

    settings = DecodingSettings(max_new_tokens=args.max_new_tokens)
    schema, _ = grammar.grammar_schema(task.schema.model_json_schema())
    clock = time.perf_counter()
    grammar.GrammarCache(session.tokenizer, local_hf.vocab_size(session.model),
                         local_hf.stop_token_ids(session.model, session.tokenizer)).prepare()
    print(f"grammar: xgrammar tokenizer info (done once per session, inside the load): "
          f"{time.perf_counter() - clock:.2f} s")
    clock = time.perf_counter()
    session.grammars.compiled(schema)
    print(f"grammar: {task.name} schema compile (first call; cached after): {time.perf_counter() - clock:.2f} s")
    messages = [{"role": "system", "content": task.system_prompt},
                {"role": "user", "content": task.build_user_prompt(inputs)}]
    encoded, _ = local_hf.build_prompt(session.tokenizer, messages)
    print(f"prompt: {encoded['input_ids'].shape[1]} tokens; max_new_tokens {args.max_new_tokens}; task {task.name}")

    def timed(constrained: bool) -> tuple[float, int, str]:
        ticket = request_queue.Ticket("bundled", owner="bench_runtime", session_id=id(session))
        with request_queue.slot(session.queue, ticket):  # the app's device queue, as run_task takes it
            output = local_hf.generate(session, messages, settings, schema if constrained else None)
        return output.seconds, output.new_tokens, output.text

    rows: dict[str, list[tuple[float, int]]] = {"plain": [], "constrained": [], "run_task": []}
    validity: dict[str, list[bool]] = {"plain": [], "constrained": [], "run_task": []}
    for _ in range(args.repeats):
        for name, constrained in (("plain", False), ("constrained", True)):
            seconds, tokens, text = timed(constrained)
            rows[name].append((seconds, tokens))
            validity[name].append(parsing.parse_structured(text, task.schema, task.field_aliases, task.defaults,
                                                           truncated=tokens >= args.max_new_tokens).ok)
        chunks: list[str] = []
        interaction = runtime.run_task(task, inputs, "bundled", settings.model_copy(update={"repair_retry": False}),
                                       on_text=chunks.append)
        rows["run_task"].append((interaction.duration_s, interaction.new_tokens))
        validity["run_task"].append(interaction.schema_valid)

    print()
    print(f"{'path':<12} {'tokens':>7} {'seconds':>8} {'tokens/s':>9} {'vs plain':>9}  schema-valid")
    rates = {name: statistics.median(tokens / seconds for seconds, tokens in values) for name, values in rows.items()}
    for name, values in rows.items():
        tokens = statistics.median(tokens for _, tokens in values)
        seconds = statistics.median(seconds for seconds, _ in values)
        print(f"{name:<12} {tokens:>7.0f} {seconds:>8.2f} {rates[name]:>9.2f} {rates[name] / rates['plain']:>8.2f}x  "
              f"{sum(validity[name])}/{len(validity[name])}")
    print("(run_task seconds are wall time of the whole call: prompt build, generate, parse, logging)")
    print()
    print(f"peak RSS: {rss_peak_mb():.0f} MB")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    runtime.unload("bundled")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
