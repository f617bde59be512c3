// Readable log lines for events: one log for the whole cluster, one per node.
//
// DOM-free. The cluster log tells each thing once ("b6 finalized"), though
// every node reports it; a node's own log tells what that node did.

function name(state, hash, epoch) {
  if (hash && hash === state.genesisHash) return "genesis";
  if (epoch != null) return `b${epoch}`;
  const block = hash ? state.blocks.get(hash) : null;
  if (block && block.epoch != null) return `b${block.epoch}`;
  return hash ? `block ${hash.slice(0, 6)}` : "?";
}

function names(state, summaries) {
  return summaries.map((s) => name(state, s.hash, s.epoch)).join(", ");
}

function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

function faults(ev) {
  const parts = [];
  if (ev.groups && ev.groups.length) {
    parts.push("partition " + ev.groups.map((g) => `{${g.join(", ")}}`).join(" | "));
  }
  for (const link of ev.links ?? []) {
    const what = [];
    if (link.delay_ms) what.push(`${link.delay_ms} ms delay`);
    if (link.loss) what.push(`${Math.round(link.loss * 100)}% loss`);
    if (what.length) parts.push(`n${link.from}→n${link.to} ${what.join(", ")}`);
  }
  return parts.length ? `network faults: ${parts.join("; ")}` : "network healed";
}

/**
 * The cluster log's line for `ev`, or null. `once(key)` is true the first
 * time a key is seen: a block is proposed, notarized and finalized once for
 * the cluster, however many nodes report it.
 */
export function describe(ev, state, once) {
  switch (ev.type) {
    case "epoch":
      return once(`e${ev.epoch}`) ? `epoch ${ev.epoch} begins: leader n${ev.leader}` : null;
    case "propose": {
      const b = ev.block;
      if (!once(`p${b.hash}`)) return null;
      const txs = b.txs?.length ? ` with ${plural(b.txs.length, "tx")}` : "";
      return `epoch ${b.epoch}: n${b.proposer} proposed ${name(state, b.hash, b.epoch)}`
        + ` extending ${name(state, b.parent)}${txs}`;
    }
    case "notarize":
      if (!once(`n${ev.block}`)) return null;
      return `${name(state, ev.block, ev.block_epoch)} notarized`
        + ` (${ev.voters?.length ?? "?"}/${state.n} votes)`;
    case "finalize": {
      const fresh = (ev.blocks ?? []).filter((b) => once(`f${b.hash}`));
      if (!fresh.length) return null;
      const triple = (ev.justification ?? []).map((h) => name(state, h));
      const why = triple.length === 3
        ? ` (${triple.join(", ")}: three consecutive epochs)` : "";
      return `${names(state, fresh)} finalized${why}`;
    }
    case "node_status":
      if (ev.status === "crashed") return `n${ev.node} crashed (process ${ev.pid} killed)`;
      if (ev.status === "running") return `n${ev.node} is running (pid ${ev.pid})`;
      if (ev.status === "starting" && ev.restarts > 0) return `n${ev.node} is restarting`;
      return null;
    case "caught_up":
      return `n${ev.node} caught up: finalized height ${ev.finalized_height}`;
    case "store_reloaded":
      return `n${ev.node} reloaded its store: ${plural(ev.blocks, "block")},`
        + ` ${plural(ev.votes, "vote")}, finalized height ${ev.finalized_height}`;
    case "tx_submitted":
      return `tx ${ev.tx} submitted: account ${ev.sender} → ${ev.receiver},`
        + ` amount ${ev.amount} (via n${ev.via})`;
    case "safety_violation":
      return `SAFETY VIOLATION at n${ev.node}: ${ev.detail}`;
    case "clock":
      return ev.paused
        ? `epoch clock paused in epoch ${ev.epoch}`
        : `epoch clock running: epochs of ${ev.epoch_seconds} s (2Δ)`;
    case "confusion_over":
      return `n${ev.node}: confusion period over, ${plural(ev.held ?? 0, "held message")}`
        + " processed now";
    case "scenario":
      return `scenario: ${ev.text}`;
    case "faults":
      return faults(ev);
    case "cluster": {
      const c = ev.config ?? {};
      return `cluster of ${c.nodes} nodes started: Δ = ${c.delta} s, ${c.leader}`
        + ` leaders, echo ${c.echo ? "on" : "off"}`;
    }
    default:
      return null;
  }
}

/** The line for `ev` in the log of the node that reported it, or null. */
export function describeForNode(ev, state) {
  switch (ev.type) {
    case "epoch":
      return `epoch ${ev.epoch} (leader n${ev.leader})`;
    case "propose":
      return `proposed ${name(state, ev.block.hash, ev.block.epoch)} extending `
        + name(state, ev.block.parent);
    case "vote":
      return `voted for ${name(state, ev.block, ev.epoch)} in epoch ${ev.epoch}`;
    case "vote_skipped":
      return `did not vote for ${name(state, ev.block, ev.epoch)}: ${ev.reason}`;
    case "notarize":
      return `saw ${name(state, ev.block, ev.block_epoch)} notarized`;
    case "finalize":
      return `finalized ${names(state, ev.blocks ?? [])} (height ${ev.height})`;
    case "tx":
      return `took tx ${ev.tx} into its pool`;
    case "orphan":
      return `holds ${name(state, ev.block)} until its parent arrives`;
    case "synced":
      return `synced from n${ev.peer}: learned ${plural(ev.learned, "block")}`;
    case "caught_up":
      return `caught up: finalized height ${ev.finalized_height}`;
    case "started":
      return `started (pid ${ev.pid}${ev.restored ? ", restored from its store" : ""})`;
    case "store_reloaded":
      return `reloaded ${plural(ev.blocks, "block")} from its store`;
    case "node_status":
      return `${ev.status}${ev.pid ? ` (pid ${ev.pid})` : ""}`;
    case "rejected":
      return `rejected a ${ev.kind}: ${ev.reason}`;
    case "dropped_frame":
      return `dropped a frame: ${ev.reason}`;
    case "safety_violation":
      return `SAFETY VIOLATION: ${ev.detail}`;
    default:
      return null;
  }
}
