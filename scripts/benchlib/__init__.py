"""`make bench` (scripts/bench.py): load generator, load shapes, stacks under test, report.

- conversations: realistic conversation scripts, played through the REST channel or the
  signed Twilio IVR webhook, one fresh sender id / CallSid per conversation;
- load: open loop (Poisson turn arrivals at a fixed offered rate) and closed loop
  (N conversations back to back, no think time);
- stats: percentiles and summaries of turn latencies;
- stacks: our product (tests.support.live.LiveStack), a redis-server, the stock `rasa init` assistant;
- procs: resident memory of a process tree.
"""
