// Narration: what just happened, in plain words, and which rule made it happen.
//
// DOM-free. `narrate(event, context)` turns one protocol or cluster event into
// a caption item {rule, key, params}; `captionText(item, lang)` words it in
// English or European Portuguese; `explainBlock` says why a block is, or is
// not yet, final. The rules are those of PROTOCOL.md (Chan & Shi, Streamlet,
// §5, the crash-fault variant) and each caption names the one at work.
//
// The core words its `vote_skipped` and `rejected` reasons as English
// sentences (backend/core/state.py). They are matched here by pattern to a
// rule; a reason no pattern knows keeps the server's sentence, which the page
// shows as text (textContent), never as HTML.

// --- the rules -----------------------------------------------------------------

/**
 * Every rule a caption can name: the group it is shown under, where
 * PROTOCOL.md states it, and how much a viewer should see it (a higher
 * priority wins when several things happen in the same moment).
 */
export const RULES = {
  leader: { group: "epochs", ref: "Rules: Epochs; corner case 8", priority: 15 },
  propose: { group: "propose", ref: "Rules: Propose; corner case 12", priority: 30 },
  vote: { group: "vote", ref: "Rules: Vote", priority: 25 },
  "vote-not-longer": { group: "vote", ref: "Rules: Vote; corner case 5", priority: 60 },
  "vote-recovery": { group: "recovery", ref: "Crash-recovery; corner case 11",
                     priority: 75 },
  "vote-repeated-tx": { group: "vote", ref: "Corner case 12", priority: 60 },
  "vote-notarized": { group: "vote", ref: "Rules: Vote; Notarize", priority: 35 },
  "vote-bad-height": { group: "vote", ref: "Data: Block; corner case 6", priority: 60 },
  "vote-other": { group: "vote", ref: "Rules: Vote", priority: 50 },
  tally: { group: "notarize", ref: "Rules: Notarize; corner case 3", priority: 10 },
  notarize: { group: "notarize", ref: "Rules: Notarize", priority: 30 },
  "notarize-early": { group: "notarize", ref: "Corner cases 1 and 2", priority: 45 },
  finalize: { group: "finalize", ref: "Rules: Finalize; corner case 6", priority: 40 },
  echo: { group: "echo", ref: "Rules: Echo; corner case 14", priority: 12 },
  orphan: { group: "orphan", ref: "Corner case 4", priority: 55 },
  future: { group: "future", ref: "Corner case 9", priority: 35 },
  "reject-leader": { group: "reject", ref: "Corner case 5", priority: 65 },
  "reject-second": { group: "reject", ref: "Rules: Vote; corner case 5", priority: 65 },
  "reject-ahead": { group: "reject", ref: "Corner case 9", priority: 55 },
  "reject-past": { group: "reject", ref: "Rules: Vote", priority: 50 },
  "reject-block": { group: "reject", ref: "Data: Block", priority: 55 },
  "reject-full": { group: "reject", ref: "Bounded memory", priority: 45 },
  "reject-other": { group: "reject", ref: "Network input is hostile", priority: 45 },
  tx: { group: "tx", ref: "Data: Transaction; corner case 12", priority: 10 },
  crash: { group: "crash", ref: "Model: f < n/2 crashes", priority: 90 },
  restart: { group: "recovery", ref: "Crash-recovery", priority: 80 },
  "recovery-store": { group: "recovery", ref: "Crash-recovery; corner case 11",
                      priority: 80 },
  "recovery-sync": { group: "recovery", ref: "Crash-recovery; corner case 11",
                     priority: 60 },
  "recovery-caught-up": { group: "recovery", ref: "Crash-recovery", priority: 70 },
  confusion: { group: "confusion", ref: "The course's fork demonstration",
               priority: 85 },
  safety: { group: "safety", ref: "Guarantees: Consistency (Theorem 12)",
            priority: 100 },
};

const GROUPS = {
  en: {
    epochs: "Leader rule", propose: "Propose rule", vote: "Vote rule",
    notarize: "Notarize rule", finalize: "Finalize rule", echo: "Echo rule",
    orphan: "Unknown parent", future: "Future epoch", reject: "Rejected",
    tx: "Transactions", crash: "Crash", recovery: "Crash-recovery",
    confusion: "Fork demonstration", safety: "Safety",
  },
  pt: {
    epochs: "Regra do líder", propose: "Regra da proposta", vote: "Regra do voto",
    notarize: "Regra da notarização", finalize: "Regra da finalização",
    echo: "Regra do eco", orphan: "Pai desconhecido", future: "Época futura",
    reject: "Rejeitado", tx: "Transações", crash: "Falha",
    recovery: "Falha e recuperação", confusion: "Demonstração de bifurcação",
    safety: "Segurança",
  },
};

/** The name of the rule behind `rule`, as the caption's tag shows it. */
export function ruleName(rule, lang = "en") {
  const group = RULES[rule]?.group;
  return (GROUPS[lang] ?? GROUPS.en)[group] ?? rule;
}

// --- the core's reasons, matched to rules ----------------------------------------

const SKIP_PATTERNS = [
  [/^its height or epoch does not follow its parent/, "vote-bad-height"],
  [/^b\d+ was already notarized/, "vote-notarized"],
  [/^it has seen a notarized chain of height (\d+)/, "vote-not-longer"],
  [/^before restarting it voted for a block extending height (\d+)/, "vote-recovery"],
  [/repeats a transaction/, "vote-repeated-tx"],
];

const REJECT_PATTERNS = [
  [/^n(\d+) is not the leader of epoch (\d+) \(n(\d+) is\)/, "reject-leader"],
  [/^a second proposal in the same epoch/, "reject-second"],
  [/^epoch (\d+) is too far ahead/, "reject-ahead"],
  [/^epoch (\d+) is long past/, "reject-past"],
  [/^height or epoch does not follow its parent/, "reject-block"],
  [/(pool is full|too many blocks waiting)/, "reject-full"],
];

function match(patterns, reason) {
  const text = typeof reason === "string" ? reason : "";
  for (const [pattern, rule] of patterns) {
    const found = pattern.exec(text);
    if (found) return { rule, found };
  }
  return null;
}

// --- context: names and counts from the page's model ----------------------------------

/**
 * What narration needs from the model: block names, n, the quorum, the
 * leader rule and how many nodes are up. Built from `state` (model.js).
 */
export function contextOf(state) {
  let up = 0;
  for (const node of state.nodes?.values() ?? []) if (node.status !== "crashed") up++;
  return {
    n: state.n,
    quorum: state.quorum,
    leaderMode: state.settings?.leader ?? null,
    up,
    block(hash) {
      return state.blocks?.get(hash) ?? null;
    },
    name(hash, epoch) {
      if (hash && hash === state.genesisHash) return "genesis";
      if (epoch != null) return `b${epoch}`;
      const block = hash ? state.blocks?.get(hash) : null;
      if (block && block.epoch != null) return `b${block.epoch}`;
      return hash ? `#${String(hash).slice(0, 6)}` : "?";
    },
  };
}

// --- events into caption items ---------------------------------------------------------

function item(rule, key, params) {
  return { rule, key, params };
}

function narrateSkip(ev, ctx) {
  const node = ev.node;
  const block = ctx.name(ev.block, ev.epoch);
  const known = match(SKIP_PATTERNS, ev.reason);
  const params = { node, block, epoch: ev.epoch, reason: String(ev.reason ?? "") };
  if (!known) return item("vote-other", `skip:${node}:${ev.epoch}`, params);
  if (known.rule === "vote-not-longer") params.height = Number(known.found[1]);
  if (known.rule === "vote-recovery") params.height = Number(known.found[1]);
  return item(known.rule, `skip:${node}:${ev.epoch}`, params);
}

function narrateReject(ev, ctx) {
  const known = match(REJECT_PATTERNS, ev.reason);
  const params = { node: ev.node, kind: ev.kind, reason: String(ev.reason ?? ""),
                   block: ctx.name(ev.ref), epoch: ev.epoch };
  const key = `reject:${ev.node}:${ev.ref}:${ev.reason}`;
  if (!known) return item("reject-other", key, params);
  const f = known.found;
  if (known.rule === "reject-leader") {
    Object.assign(params, { proposer: Number(f[1]), blockEpoch: Number(f[2]),
                            leader: Number(f[3]) });
  } else if (known.rule === "reject-ahead" || known.rule === "reject-past") {
    params.blockEpoch = Number(f[1]);
  }
  return item(known.rule, key, params);
}

function narrateFinalize(ev, ctx) {
  const triple = ev.justification ?? [];
  const blocks = ev.blocks ?? [];
  const middle = triple[1] ?? blocks.at(-1)?.hash;
  const midBlock = blocks.find((b) => b.hash === middle) ?? ctx.block(middle);
  const midEpoch = midBlock?.epoch ?? null;
  const prefix = blocks.filter((b) => b.hash !== middle).map((b) => ctx.name(b.hash, b.epoch));
  return item("finalize", `final:${middle}`, {
    node: ev.node,
    middle: ctx.name(middle, midEpoch),
    first: ctx.name(triple[0], midEpoch != null ? midEpoch - 1 : null),
    third: ctx.name(triple[2], midEpoch != null ? midEpoch + 1 : null),
    epoch: midEpoch,
    prefix: prefix.join(", "),
    height: ev.height,
  });
}

/**
 * The caption item for one event (or a "deliver" message trace), or null
 * when the event teaches nothing. `key` names what happened across the
 * cluster, so five nodes reporting one notarization make one caption.
 */
export function narrate(ev, ctx) {
  if (!ev || typeof ev !== "object") return null;
  const node = ev.node;
  switch (ev.type) {
    case "epoch":
      return item("leader", `epoch:${ev.epoch}`,
                  { epoch: ev.epoch, leader: ev.leader, mode: ctx.leaderMode });
    case "propose": {
      const b = ev.block ?? {};
      return item("propose", `propose:${b.hash}`, {
        node: b.proposer ?? node, epoch: b.epoch, block: ctx.name(b.hash, b.epoch),
        parent: ctx.name(b.parent), txs: (b.txs ?? []).length, height: b.height,
      });
    }
    case "block":
      // The core keeps an early proposal until its epoch (corner case 9); the
      // node stamps each event with its own epoch.
      if (ev.block && ev.epoch != null && ev.block.epoch > ev.epoch) {
        return item("future", `future:${node}:${ev.block.hash}`, {
          node, block: ctx.name(ev.block.hash, ev.block.epoch),
          blockEpoch: ev.block.epoch, epoch: ev.epoch,
        });
      }
      return null;
    case "vote": {
      const proposer = ctx.block(ev.block)?.proposer ?? null;
      return item("vote", `vote:${ev.epoch}`, {
        node, epoch: ev.epoch, block: ctx.name(ev.block, ev.epoch), height: ev.height,
        leader: proposer,
      });
    }
    case "vote_skipped":
      return narrateSkip(ev, ctx);
    case "tally":
      return item("tally", `tally:${node}:${ev.block}:${ev.voter}`, {
        node, voter: ev.voter, block: ctx.name(ev.block), count: ev.count,
        quorum: ctx.quorum, n: ctx.n,
      });
    case "notarize": {
      const params = { node, block: ctx.name(ev.block, ev.block_epoch),
                       votes: (ev.voters ?? []).length, quorum: ctx.quorum, n: ctx.n };
      // block_epoch is null when the votes completed before the body came.
      if (ev.block_epoch == null) {
        return item("notarize-early", `early:${node}:${ev.block}`, params);
      }
      return item("notarize", `notarize:${ev.block}`, params);
    }
    case "finalize":
      return narrateFinalize(ev, ctx);
    case "deliver":
      if (!ev.echo) return null;
      return item("echo", `echo:${ev.epoch ?? ""}:${ev.kind}`, {
        node, via: ev.via, origin: ev.origin, kind: ev.kind,
      });
    case "orphan":
      return item("orphan", `orphan:${node}:${ev.block}`, {
        node, block: ctx.name(ev.block), parent: ctx.name(ev.parent),
      });
    case "rejected":
      return narrateReject(ev, ctx);
    case "tx":
      return item("tx", `tx:${ev.tx}`, {
        node, tx: ev.tx, sender: ev.sender, receiver: ev.receiver, amount: ev.amount,
      });
    case "node_status":
      if (ev.status === "crashed") {
        // The model has already marked the node crashed: `up` excludes it.
        return item("crash", `crash:${node}:${ev.t}`,
                    { node, up: ctx.up, n: ctx.n, quorum: ctx.quorum });
      }
      if (ev.status === "starting" && ev.restarts > 0) {
        return item("restart", `restart:${node}:${ev.restarts}`, { node });
      }
      return null;
    case "store_reloaded":
      return item("recovery-store", `store:${node}:${ev.t}`, {
        node, blocks: ev.blocks, votes: ev.votes, height: ev.finalized_height,
      });
    case "synced":
      if (!ev.learned) return null;
      return item("recovery-sync", `synced:${node}:${ev.peer}:${ev.t}`, {
        node, peer: ev.peer, learned: ev.learned, height: ev.finalized_height,
      });
    case "caught_up":
      return item("recovery-caught-up", `caught:${node}:${ev.t}`,
                  { node, height: ev.finalized_height });
    case "confusion_over":
      return item("confusion", `confusion:${node}`, { node, held: ev.held ?? 0 });
    case "safety_violation":
      return item("safety", `safety:${node}:${ev.block}`,
                  { node, detail: String(ev.detail ?? "") });
    default:
      return null;
  }
}

// --- caption templates -------------------------------------------------------------------

function plural(count, one, many) {
  return `${count} ${count === 1 ? one : many}`;
}

const KIND = {
  en: { vote: "vote", propose: "proposal", tx: "transaction" },
  pt: { vote: "voto", propose: "proposta", tx: "transação" },
};
const MODE = {
  en: { "round-robin": "round-robin", hash: "a hash of the epoch" },
  pt: { "round-robin": "rotativo", hash: "um hash da época" },
};

const TEXT = {
  en: {
    leader: (p) => `Epoch ${p.epoch} begins and lasts 2Δ. Its leader is n${p.leader}, `
      + `a pure function of the epoch number${p.mode ? ` (${MODE.en[p.mode] ?? p.mode})` : ""}`
      + ", so every node, even one that just restarted, names the same leader.",
    propose: (p) => `n${p.node} leads epoch ${p.epoch} and proposes ${p.block}, extending `
      + `${p.parent}, the tip of the longest notarized chain it has seen, with `
      + `${plural(p.txs, "pending transaction", "pending transactions")} not already `
      + "in that chain.",
    vote: (p) => `n${p.node} votes for ${p.block}: it is the first proposal of `
      + `${p.leader ? `epoch ${p.epoch}'s leader n${p.leader}` : `epoch ${p.epoch}'s leader`}, `
      + `it came during epoch ${p.epoch}, and at height ${p.height} it is strictly longer `
      + `than every notarized chain n${p.node} has seen.`,
    "vote-not-longer": (p) => `n${p.node} does not vote for ${p.block}: it has seen a `
      + `notarized chain as long (height ${p.height}); a vote needs a strictly longer one.`,
    "vote-recovery": (p) => `n${p.node} does not vote for ${p.block}: before it restarted `
      + `it voted for a block extending height ${p.height}, a promise kept on disk; a vote `
      + "for a shorter chain now could let two forks become final.",
    "vote-repeated-tx": (p) => `n${p.node} does not vote for ${p.block}: the block repeats `
      + "a transaction already in its chain, and the log never holds a transaction twice.",
    "vote-notarized": (p) => `n${p.node} does not vote for ${p.block}: the others' votes `
      + "have already notarized it, so its vote would add nothing.",
    "vote-bad-height": (p) => `n${p.node} does not vote for ${p.block}: its height or `
      + "epoch does not follow its parent's (one higher, a later epoch).",
    "vote-other": (p) => `n${p.node} does not vote for ${p.block}: ${p.reason}.`,
    tally: (p) => `n${p.node} counts n${p.voter}'s vote for ${p.block}: ${p.count} of the `
      + `${p.quorum} distinct votes needed (more than n/2 of ${p.n}); an echoed vote counts `
      + "once, for its voter.",
    notarize: (p) => `${p.block} is notarized: ${p.votes} distinct votes, more than half `
      + `of the ${p.n} nodes (${p.quorum} needed).`,
    "notarize-early": (p) => `n${p.node} sees ${p.block} notarized before the block itself `
      + "arrived: votes are counted by the block's hash, which does not need its "
      + "transactions.",
    finalize: (p) => `${p.middle} is final: ${p.first}, ${p.middle} and ${p.third} are `
      + "notarized blocks of consecutive epochs in one chain, so the middle one becomes "
      + `final with its whole prefix${p.prefix ? ` (${p.prefix} too)` : ""}, never the third.`,
    echo: (p) => `n${p.node} gets n${p.origin}'s ${KIND.en[p.kind] ?? p.kind} through `
      + `n${p.via}: every node forwards each distinct message to everyone, once, so it `
      + "spreads even when its sender crashes mid-broadcast.",
    orphan: (p) => `n${p.node} received ${p.block} but not its parent ${p.parent}: it keeps `
      + "the block aside and asks its peers for the missing ancestors; it never attaches "
      + "it to genesis nor votes before the parent chain is notarized.",
    future: (p) => `n${p.node} is in epoch ${p.epoch} and keeps ${p.block} for epoch `
      + `${p.blockEpoch}: a message of a future epoch waits for that epoch without `
      + "blocking the others.",
    "reject-leader": (p) => `n${p.node} rejects a proposal from n${p.proposer}: the leader `
      + `of epoch ${p.blockEpoch} is n${p.leader}, and only the leader may propose.`,
    "reject-second": (p) => `n${p.node} ignores a second proposal for one epoch: `
      + "only the leader's first proposal of an epoch counts.",
    "reject-ahead": (p) => `n${p.node} refuses a proposal for epoch ${p.blockEpoch}: too far `
      + "ahead of its own epoch, so it is not kept.",
    "reject-past": (p) => `n${p.node} ignores a proposal for epoch ${p.blockEpoch}: that `
      + "epoch is long past, and nodes vote only in the current epoch.",
    "reject-block": (p) => `n${p.node} rejects ${p.block}: its height or epoch does not `
      + "follow its parent.",
    "reject-full": (p) => `n${p.node} turns a ${KIND.en[p.kind] ?? p.kind} away: `
      + `${p.reason}; memory is bounded on purpose.`,
    "reject-other": (p) => `n${p.node} rejects a ${KIND.en[p.kind] ?? p.kind}: ${p.reason}.`,
    tx: (p) => `n${p.node} takes transaction ${p.tx} (account ${p.sender} → ${p.receiver}, `
      + `amount ${p.amount}) into its pool; a leader will put it in a block unless the `
      + "chain already holds it.",
    crash: (p) => `n${p.node} crashed: its process was killed. ${p.up} of ${p.n} nodes are `
      + (p.up >= p.quorum
        ? `up, still more than n/2 (${p.quorum}), so blocks can be notarized.`
        : `up, fewer than the ${p.quorum} a quorum needs: nothing can be notarized until `
          + "a node comes back."),
    restart: (p) => `n${p.node} is restarting with the same id and the same store.`,
    "recovery-store": (p) => `n${p.node} restarted and reloaded its store (`
      + `${plural(p.blocks, "block", "blocks")}, ${plural(p.votes, "vote", "votes")}): it `
      + "remembers its promises, so it never votes twice in an epoch nor for a shorter "
      + "chain.",
    "recovery-sync": (p) => `n${p.node} learns ${plural(p.learned, "block", "blocks")} `
      + `from n${p.peer}: a restarted or late node fetches what it missed from its peers.`,
    "recovery-caught-up": (p) => `n${p.node} has caught up with its peers: finalized `
      + `height ${p.height}.`,
    confusion: (p) => `n${p.node}'s confusion period is over: it now processes the `
      + `${plural(p.held, "message", "messages")} it held back. Blocks extending one parent `
      + "can be notarized together, a fork that later converges (late votes, outside "
      + "the paper's proof).",
    safety: (p) => `SAFETY VIOLATION at n${p.node}: ${p.detail}. Finalized chains must be `
      + "prefixes of one another (Theorem 12).",
  },
  pt: {
    leader: (p) => `Começa a época ${p.epoch}, que dura 2Δ. O líder é n${p.leader}, `
      + `função apenas do número da época${p.mode ? ` (${MODE.pt[p.mode] ?? p.mode})` : ""}`
      + ", por isso todos os nós, mesmo um acabado de reiniciar, apontam o mesmo líder.",
    propose: (p) => `n${p.node} é o líder da época ${p.epoch} e propõe ${p.block}, que `
      + `estende ${p.parent}, a ponta da cadeia notarizada mais longa que viu, com `
      + `${plural(p.txs, "transação pendente", "transações pendentes")} que ainda não `
      + "estão nessa cadeia.",
    vote: (p) => `n${p.node} vota em ${p.block}: é a primeira proposta do líder da época `
      + `${p.epoch}${p.leader ? ` (n${p.leader})` : ""}, chegou durante a época ${p.epoch} `
      + `e, com altura ${p.height}, é estritamente mais longa do que qualquer cadeia `
      + `notarizada que n${p.node} tenha visto.`,
    "vote-not-longer": (p) => `n${p.node} não vota em ${p.block}: já viu uma cadeia `
      + `notarizada tão longa (altura ${p.height}); para votar é preciso uma estritamente `
      + "mais longa.",
    "vote-recovery": (p) => `n${p.node} não vota em ${p.block}: antes de reiniciar votou `
      + `num bloco que estendia a altura ${p.height}, promessa guardada em disco; votar `
      + "agora numa cadeia mais curta podia tornar finais dois ramos.",
    "vote-repeated-tx": (p) => `n${p.node} não vota em ${p.block}: o bloco repete uma `
      + "transação que já está na sua cadeia, e o registo nunca tem uma transação duas "
      + "vezes.",
    "vote-notarized": (p) => `n${p.node} não vota em ${p.block}: os votos dos outros já o `
      + "notarizaram, por isso o seu voto nada acrescentaria.",
    "vote-bad-height": (p) => `n${p.node} não vota em ${p.block}: a altura ou a época não `
      + "seguem as do pai (mais um de altura, uma época posterior).",
    "vote-other": (p) => `n${p.node} não vota em ${p.block}: «${p.reason}».`,
    tally: (p) => `n${p.node} conta o voto de n${p.voter} em ${p.block}: ${p.count} dos `
      + `${p.quorum} votos distintos necessários (mais de n/2 de ${p.n}); um voto `
      + "reenviado por eco conta uma só vez, para quem votou.",
    notarize: (p) => `${p.block} está notarizado: ${p.votes} votos distintos, mais de `
      + `metade dos ${p.n} nós (são precisos ${p.quorum}).`,
    "notarize-early": (p) => `n${p.node} vê ${p.block} notarizado antes de receber o `
      + "próprio bloco: os votos contam-se pelo hash do bloco, que não precisa das "
      + "transações.",
    finalize: (p) => `${p.middle} é final: ${p.first}, ${p.middle} e ${p.third} são blocos `
      + "notarizados de épocas consecutivas na mesma cadeia, por isso o do meio torna-se "
      + `final com todo o seu prefixo${p.prefix ? ` (também ${p.prefix})` : ""}; o terceiro `
      + "nunca.",
    echo: (p) => `n${p.node} recebe ${p.kind === "vote" ? "o" : "a"} `
      + `${KIND.pt[p.kind] ?? p.kind} de n${p.origin} através de n${p.via}: cada nó `
      + "reenvia a todos, uma só vez, cada mensagem distinta, e assim ela espalha-se "
      + "mesmo que o remetente falhe a meio do envio.",
    orphan: (p) => `n${p.node} recebeu ${p.block} mas não o pai ${p.parent}: guarda o `
      + "bloco à parte e pede aos pares os antepassados em falta; nunca o liga à génese "
      + "nem vota antes de a cadeia do pai estar notarizada.",
    future: (p) => `n${p.node} está na época ${p.epoch} e guarda ${p.block} para a época `
      + `${p.blockEpoch}: uma mensagem de uma época futura espera pela sua época sem `
      + "bloquear as outras.",
    "reject-leader": (p) => `n${p.node} rejeita uma proposta de n${p.proposer}: o líder da `
      + `época ${p.blockEpoch} é n${p.leader}, e só o líder pode propor.`,
    "reject-second": (p) => `n${p.node} ignora uma segunda proposta para a mesma época: `
      + "só conta a primeira proposta do líder em cada época.",
    "reject-ahead": (p) => `n${p.node} recusa uma proposta para a época ${p.blockEpoch}: `
      + "está demasiado à frente da sua época, por isso não a guarda.",
    "reject-past": (p) => `n${p.node} ignora uma proposta para a época ${p.blockEpoch}: `
      + "essa época já passou há muito, e os nós só votam na época corrente.",
    "reject-block": (p) => `n${p.node} rejeita ${p.block}: a altura ou a época não seguem `
      + "as do pai.",
    "reject-full": (p) => `n${p.node} recusa ${p.kind === "tx" ? "uma" : "um"} `
      + `${p.kind === "tx" ? "transação" : "bloco"}: «${p.reason}»; a memória é limitada `
      + "de propósito.",
    "reject-other": (p) => `n${p.node} rejeita uma mensagem (${KIND.pt[p.kind] ?? p.kind}): `
      + `«${p.reason}».`,
    tx: (p) => `n${p.node} guarda a transação ${p.tx} (conta ${p.sender} → ${p.receiver}, `
      + `montante ${p.amount}) no seu conjunto de pendentes; um líder há de pô-la num `
      + "bloco, a menos que a cadeia já a tenha.",
    crash: (p) => `n${p.node} falhou: o seu processo foi terminado. Estão ativos ${p.up} `
      + `de ${p.n} nós, `
      + (p.up >= p.quorum
        ? `ainda mais de n/2 (${p.quorum}), por isso os blocos podem ser notarizados.`
        : `menos do que os ${p.quorum} de um quórum: nada pode ser notarizado até um nó `
          + "voltar."),
    restart: (p) => `n${p.node} está a reiniciar com o mesmo identificador e o mesmo `
      + "armazenamento.",
    "recovery-store": (p) => `n${p.node} reiniciou e recarregou o seu armazenamento (`
      + `${plural(p.blocks, "bloco", "blocos")}, ${plural(p.votes, "voto", "votos")}): `
      + "lembra-se do que prometeu, por isso nunca vota duas vezes na mesma época nem numa "
      + "cadeia mais curta.",
    "recovery-sync": (p) => `n${p.node} fica a conhecer ${plural(p.learned, "bloco", "blocos")} `
      + `através de n${p.peer}: um nó reiniciado ou atrasado vai buscar aos pares o que `
      + "perdeu.",
    "recovery-caught-up": (p) => `n${p.node} recuperou o atraso em relação aos pares: `
      + `altura finalizada ${p.height}.`,
    confusion: (p) => `Terminou o período de confusão de n${p.node}: processa agora `
      + `${plural(p.held, "a mensagem retida", "as mensagens retidas")}. Vários blocos que `
      + "estendem o mesmo pai podem ser notarizados juntos, uma bifurcação que depois "
      + "converge (votos tardios, fora da prova do artigo).",
    safety: (p) => `VIOLAÇÃO DE SEGURANÇA em n${p.node}: ${p.detail}. As cadeias `
      + "finalizadas têm de ser prefixos umas das outras (Teorema 12).",
  },
};

/** Does `lang` have words for `rule`? (Every rule has, in both languages.) */
export function hasCaption(rule, lang) {
  return typeof TEXT[lang]?.[rule] === "function";
}

/** The caption's sentence in `lang` ("en" or "pt"). */
export function captionText(entry, lang = "en") {
  const table = TEXT[lang] ?? TEXT.en;
  const words = table[entry.rule] ?? TEXT.en[entry.rule];
  return words ? words(entry.params ?? {}) : "";
}

// --- why a block is, or is not yet, final -------------------------------------------------

const WHY = {
  en: {
    genesis: () => "genesis is final by definition.",
    unknown: (p) => `${p.name} is no longer in the page's memory (older than the epochs `
      + "it keeps).",
    final: (p) => `${p.name} is final on ${p.by}`
      + (p.direct ? `: ${p.first}, ${p.name}, ${p.third} are notarized in consecutive `
        + "epochs, and the middle one is final with its prefix"
        : p.via ? `, as part of the prefix of ${p.via}, final through three consecutive `
          + "epochs" : "")
      + (p.missing ? `; not yet on ${p.missing}` : "") + ".",
    abandoned: (p) => `${p.name} is on an abandoned fork: ${p.rival} is final at height `
      + `${p.height}, and at most one block per height ever is.`,
    body: (p) => `${p.name} has ${p.votes} of ${p.quorum} votes but no node has reported `
      + "its body yet.",
    notNotarizedOver: (p) => `${p.name} is not final: not notarized. Its epoch ${p.epoch} `
      + `ended with ${p.votes} of the ${p.quorum} votes needed, and nodes vote only `
      + "during the block's epoch.",
    notNotarized: (p) => `${p.name} is not final: not notarized yet, ${p.votes} of the `
      + `${p.quorum} votes needed (more than n/2).`,
    parentGap: (p) => `${p.name} is notarized but not final: its parent is from epoch `
      + `${p.parentEpoch}, not ${p.epoch - 1}, so the notarization of a block of epoch `
      + `${p.epoch - 1} before it is missing; it can become final only in the prefix of a `
      + "later final block.",
    waitChild: (p) => `${p.name} is notarized but not final: missing the notarization of `
      + `a child from epoch ${p.epoch + 1} (three consecutive epochs).`,
    noChild: (p) => `${p.name} is notarized but not final: epoch ${p.epoch + 1} produced no `
      + "notarized child of it, so it can become final only in the prefix of a later "
      + "final block.",
    soon: (p) => `${p.name} is notarized and so is its child from epoch ${p.epoch + 1}: `
      + `final as soon as the nodes process it (${p.first}, ${p.name}, ${p.third}).`,
  },
  pt: {
    genesis: () => "a génese é final por definição.",
    unknown: (p) => `${p.name} já não está na memória da página (é mais antigo do que as `
      + "épocas que guarda).",
    final: (p) => `${p.name} é final em ${p.by}`
      + (p.direct ? `: ${p.first}, ${p.name}, ${p.third} estão notarizados em épocas `
        + "consecutivas, e o do meio é final com o seu prefixo"
        : p.via ? `, como parte do prefixo de ${p.via}, final por três épocas consecutivas`
          : "")
      + (p.missing ? `; ainda não em ${p.missing}` : "") + ".",
    abandoned: (p) => `${p.name} está num ramo abandonado: ${p.rival} é final na altura `
      + `${p.height}, e em cada altura no máximo um bloco chega a ser final.`,
    body: (p) => `${p.name} tem ${p.votes} de ${p.quorum} votos, mas nenhum nó comunicou `
      + "ainda o conteúdo do bloco.",
    notNotarizedOver: (p) => `${p.name} não é final: não está notarizado. A sua época `
      + `${p.epoch} terminou com ${p.votes} dos ${p.quorum} votos necessários, e os nós só `
      + "votam durante a época do bloco.",
    notNotarized: (p) => `${p.name} não é final: ainda não está notarizado, tem ${p.votes} `
      + `dos ${p.quorum} votos necessários (mais de n/2).`,
    parentGap: (p) => `${p.name} está notarizado mas não é final: o pai é da época `
      + `${p.parentEpoch}, não da ${p.epoch - 1}, por isso falta a notarização de um bloco `
      + `da época ${p.epoch - 1} antes dele; só pode ser final no prefixo de um bloco final `
      + "posterior.",
    waitChild: (p) => `${p.name} está notarizado mas não é final: falta a notarização de um `
      + `filho da época ${p.epoch + 1} (três épocas consecutivas).`,
    noChild: (p) => `${p.name} está notarizado mas não é final: a época ${p.epoch + 1} não `
      + "produziu nenhum filho notarizado, por isso só pode ser final no prefixo de um "
      + "bloco final posterior.",
    soon: (p) => `${p.name} está notarizado e o seu filho da época ${p.epoch + 1} também: `
      + `será final assim que os nós o processarem (${p.first}, ${p.name}, ${p.third}).`,
  },
};

function nodeList(ids) {
  return [...ids].sort((a, b) => a - b).map((id) => `n${id}`).join(", ");
}

function notarized(state, block) {
  return block.notarizedBy.size > 0 || block.voters.size >= state.quorum;
}

/**
 * Why the block `hash` is, or is not yet, final, as the page's model sees
 * it: {reason, text}. `reason` names the case (for tests and styling). The
 * same cases as the server's `why` (backend/web/observer.py), worded in
 * `lang`; they say which epoch's notarization is missing.
 */
export function explainBlock(state, hash, lang = "en") {
  const words = WHY[lang] ?? WHY.en;
  const say = (reason, params = {}) => ({ reason, text: words[reason](params) });
  if (hash === state.genesisHash) return say("genesis");
  const block = state.blocks.get(hash);
  const name = block?.epoch != null ? `b${block.epoch}` : `#${String(hash).slice(0, 6)}`;
  if (!block) return say("unknown", { name });

  const nameOf = (h) => {
    if (h === state.genesisHash) return "genesis";
    const b = state.blocks.get(h);
    return b?.epoch != null ? `b${b.epoch}` : `#${String(h).slice(0, 6)}`;
  };
  if (block.finalizedBy.size) {
    const all = [...state.nodes.keys()].filter((id) => !block.finalizedBy.has(id));
    const triple = block.justification ?? [];
    const direct = triple.length === 3 && triple[1] === hash;
    return say("final", {
      name, by: nodeList(block.finalizedBy), missing: all.length ? nodeList(all) : "",
      direct, first: nameOf(triple[0]), third: nameOf(triple[2]),
      via: triple.length === 3 && !direct ? nameOf(triple[1]) : "",
    });
  }
  if (block.height != null) {
    for (const other of state.blocks.values()) {
      if (other !== block && other.height === block.height && other.finalizedBy.size) {
        return say("abandoned", { name, rival: nameOf(other.hash), height: block.height });
      }
    }
  }
  const votes = block.voters.size;
  if (!block.known) return say("body", { name, votes, quorum: state.quorum });
  if (!notarized(state, block)) {
    const params = { name, votes, quorum: state.quorum, epoch: block.epoch };
    return say(state.epoch > block.epoch ? "notNotarizedOver" : "notNotarized", params);
  }
  const parent = state.blocks.get(block.parent);
  const parentEpoch = block.parent === state.genesisHash ? 0 : parent?.epoch;
  if (parentEpoch != null && parentEpoch !== block.epoch - 1) {
    return say("parentGap", { name, epoch: block.epoch, parentEpoch });
  }
  let child = null;
  for (const other of state.blocks.values()) {
    if (other.parent === hash && other.epoch === block.epoch + 1 && notarized(state, other)) {
      child = other;
    }
  }
  if (child) {
    return say("soon", { name, epoch: block.epoch, first: nameOf(block.parent),
                         third: nameOf(child.hash) });
  }
  if (state.epoch > block.epoch + 1) return say("noChild", { name, epoch: block.epoch });
  return say("waitChild", { name, epoch: block.epoch });
}

// --- choosing what to show ------------------------------------------------------------------

export const NARRATOR_LIMITS = { candidates: 300, seen: 3000, history: 8 };
const URGENT = 80;

/**
 * Picks the caption to show from everything that happened. A caption stays
 * up at least `holdMs` so it can be read, unless something more urgent
 * (priority ≥ 80: a crash, a restart, a safety violation) comes. Then the
 * candidate with the highest priority wins, raised by how long its rule has
 * not been shown, so the common rules take turns instead of the same one
 * every epoch, and lowered by how many epochs old it is. Candidates from
 * before the previous epoch are dropped: with short epochs they would be
 * history by the time they were read. While the clock is paused no epoch
 * passes, so the captions of the last step are shown in turn.
 */
export function createNarrator({ holdMs = 3000, staleMs = 30_000 } = {}) {
  let candidates = [];
  let seen = new Set();
  const lastShown = new Map();  // rule -> ms
  const history = [];
  let current = null;
  let shownAt = -Infinity;
  let latest = 0;  // the newest epoch any event carried

  function score(entry, nowMs) {
    const since = (nowMs - (lastShown.get(entry.rule) ?? -60000)) / 1000;
    const age = entry.epoch == null ? 0 : latest - entry.epoch;
    return (RULES[entry.rule]?.priority ?? 0) + Math.min(30, since * 2) - 12 * age;
  }

  return {
    /** Offer the caption items of a batch's events, in order. */
    observe(events, ctx, nowMs) {
      for (const ev of events) {
        if (typeof ev?.epoch === "number" && ev.epoch > latest) latest = ev.epoch;
        const entry = narrate(ev, ctx);
        if (!entry || seen.has(entry.key)) continue;
        seen.add(entry.key);
        entry.at = nowMs;
        entry.epoch = typeof ev.epoch === "number" ? ev.epoch : null;
        candidates.push(entry);
      }
      if (seen.size > NARRATOR_LIMITS.seen) seen = new Set([...seen].slice(-1000));
      if (candidates.length > NARRATOR_LIMITS.candidates) {
        candidates = candidates.slice(-NARRATOR_LIMITS.candidates);
      }
    },
    /** The caption to show at `nowMs` (changes at most every `holdMs`). */
    next(nowMs) {
      candidates = candidates.filter((c) => nowMs - c.at <= staleMs
        && (c.epoch == null || c.epoch >= latest - 1));
      if (!candidates.length) return current;
      const urgent = (c) => (RULES[c.rule]?.priority ?? 0) >= URGENT;
      const holding = nowMs - shownAt < holdMs;
      if (holding && !candidates.some(urgent)) return current;
      let best = -1;
      for (let i = 0; i < candidates.length; i++) {
        if (holding && !urgent(candidates[i])) continue;
        if (best < 0 || score(candidates[i], nowMs) > score(candidates[best], nowMs)) best = i;
      }
      const chosen = candidates.splice(best, 1)[0];
      if (current) history.unshift(current);
      if (history.length > NARRATOR_LIMITS.history) history.pop();
      current = chosen;
      shownAt = nowMs;
      lastShown.set(chosen.rule, nowMs);
      return current;
    },
    current: () => current,
    history: () => history,
    reset() {
      candidates = [];
      seen = new Set();
      latest = 0;
      history.length = 0;
      lastShown.clear();
      current = null;
      shownAt = -Infinity;
    },
  };
}
