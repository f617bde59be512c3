// The page's words in English and European Portuguese (pt-PT).
//
// DOM-free except `applyI18n`, which walks the elements marked with
// `data-i18n="key"` (their textContent) and `data-i18n-attr="attr:key;…"`
// (attributes such as aria-label), so `node --test` can check that both
// languages hold every key and the same {placeholders}. Text is only ever
// set with textContent or setAttribute, never as HTML.
//
// Known shortcoming: messages written by the server (form errors from its
// validation, scenario names, the reasons inside "rejected" events) stay in
// English; the page shows them as they come.

export const LANGS = ["en", "pt"];
export const STORAGE_KEY = "streamlet-lab.lang";

const EN = {
  "lang.label": "Language",
  "clock.aria": "Epoch clock",
  "clock.epoch": "epoch",
  "clock.leader": "leader",
  "clock.paused": "paused",
  "clock.left": "{s} s left",
  "safety.waiting": "safety: waiting for data",
  "safety.ok": "safety ✓ final chains agree (height {height})",
  "safety.bad": "SAFETY VIOLATION: {detail}",
  "safety.seeLog": "see the log",
  "conn.connecting": "connecting…",
  "conn.live": "live",
  "conn.lost": "disconnected: retrying",
  "error.offline": "not connected to the server",
  "error.timeout": "the server did not answer in time",

  "controls.aria": "Clock and scenario controls",
  "controls.pause": "Pause",
  "controls.step": "Step",
  "controls.resume": "Resume",
  "controls.setDelta": "Set Δ",
  "controls.scenario": "scenario",
  "controls.play": "Play",
  "controls.starting": "starting the scenario's cluster…",

  "network.title": "Network",
  "network.echoes": "show echoes",
  "network.aria": "The nodes on a ring, with the messages in flight between them",
  "network.note": "Click a node to inspect it.",
  "network.noteSkipped": "Click a node to inspect it. {count} messages were too many to draw.",
  "network.leader": "leader",
  "network.crashed": "crashed",
  "network.height": "height {height}",
  "network.nodeAria": "node {id}, {status}",

  "tree.title": "Block tree",
  "tree.hint": "epochs left → right, forks in lanes below",
  "tree.aria": "The blocks of the last epochs, by epoch and fork",
  "tree.whyHint": "Click a block to see why it is, or is not yet, final.",
  "tree.votes": "{votes}/{quorum} votes",
  "tree.votesDone": "✓ {votes} votes",
  "tree.meterAria": "{votes} of {quorum} votes",
  "tree.justification": "epochs {first}, {middle}, {third} in a row: b{middle} final",

  "insp.title": "Node inspector",
  "insp.node": "Node n{id}",
  "insp.hint": "Click a node on the ring.",
  "insp.crash": "Crash",
  "insp.restart": "Restart",
  "insp.restarting": "restarting…",
  "insp.tail": "Finalized chain, last blocks",
  "insp.log": "Its recent log",
  "insp.down": "down",
  "insp.noneYet": "none yet",
  "insp.voteIn": "{block} in epoch {epoch}",
  "insp.messagesValue": "{sent} sent, {received} received",
  "insp.row.status": "status",
  "insp.row.pid": "pid",
  "insp.row.port": "port",
  "insp.row.uptime": "uptime",
  "insp.row.restarts": "restarts",
  "insp.row.epoch": "epoch",
  "insp.row.finalizedHeight": "finalized height",
  "insp.row.pendingTxs": "pending txs",
  "insp.row.lastVote": "last vote",
  "insp.row.messages": "messages",
  "status.running": "running",
  "status.crashed": "crashed",
  "status.starting": "starting",
  "network.nodeTitle": "n{id}: {status}, pid {pid}, finalized height {height}",
  "tx.line": "tx {id}: {sender} → {receiver}, {amount}",
  "tx.statusIn": "{status} in b{epoch}",
  "tx.status.pending": "pending",
  "tx.status.proposed": "proposed",
  "tx.status.notarized": "notarized",
  "tx.status.finalized": "finalized",

  "tx.title": "Transactions",
  "tx.sender": "sender",
  "tx.receiver": "receiver",
  "tx.amount": "amount",
  "tx.submit": "Submit",
  "tx.random": "random transactions",
  "tx.rate": "rate",
  "tx.perSecond": "per second",
  "tx.listAria": "Transactions submitted from this page",

  "log.title": "Event log",

  "legend.aria": "Legend",
  "legend.proposed": "proposed",
  "legend.notarized": "notarized",
  "legend.finalized": "finalized",
  "legend.consecutive": "3 consecutive epochs",
  "legend.leader": "leader",
  "legend.crashed": "crashed",
  "legend.proposal": "proposal",
  "legend.vote": "vote",
  "legend.transaction": "transaction",
  "legend.catchUp": "catch-up",
  "legend.echo": "echo",
  "legend.lost": "lost",
  "legend.partitioned": "partitioned",
  "legend.slow": "slow link",

  "cluster.summary": "Cluster settings",
  "cluster.nodes": "nodes",
  "cluster.delta": "Δ (s)",
  "cluster.leaders": "leaders",
  "cluster.roundRobin": "round-robin",
  "cluster.hash": "hash",
  "cluster.echo": "echo",
  "cluster.restart": "Restart the cluster",
  "cluster.starting": "starting a new cluster…",

  "caption.aria": "Narration",
  "caption.title": "What just happened",
  "caption.waiting": "Waiting for the first events…",
  "caption.history": "Before that",

  "votegrid.title": "Vote grid",
  "votegrid.hint": "nodes × the last epochs",
  "votegrid.aria": "For each node and each recent epoch: voted, did not vote or crashed",
  "votegrid.voted": "voted",
  "votegrid.skipped": "did not vote (rule said no)",
  "votegrid.none": "no vote",
  "votegrid.crashed": "crashed",
  "votegrid.leader": "leader",
  "votegrid.cellVoted": "n{node}, epoch {epoch}: voted for {block}",
  "votegrid.cellSkipped": "n{node}, epoch {epoch}: did not vote: {reason}",
  "votegrid.cellNone": "n{node}, epoch {epoch}: no vote",
  "votegrid.cellNoBlock": "n{node}, epoch {epoch}: no vote (no proposal seen)",
  "votegrid.cellCrashed": "n{node}, epoch {epoch}: crashed",
  "votegrid.column": "epoch {epoch}, leader n{leader}",

  "nodetree.title": "One node's own tree",
  "nodetree.pick": "node",
  "nodetree.aria": "The blocks the chosen node holds, and what it notarized and finalized",
  "nodetree.summary": "n{node} holds {held} blocks of the last {epochs} epochs: {notarized} notarized and {final} final here{orphans}.",
  "nodetree.orphans": "; {count} kept aside until their parent arrives",
  "nodetree.none": "Pick a node to see the tree as that node knows it.",
  "nodetree.down": "n{node} is down: this is what it knew when it crashed.",
  "nodetree.held": "held",
  "nodetree.notarized": "notarized here",
  "nodetree.final": "final here",
  "nodetree.orphan": "kept aside (parent unknown)",
  "nodetree.voted": "voted",

  "charts.title": "Live charts",
  "charts.latency": "Finality latency (epochs from proposal to final)",
  "charts.latencyAria": "Epochs from each block's proposal to its first finalization",
  "charts.tps": "Finalized transactions per second",
  "charts.tpsAria": "Transactions finalized in each second",
  "charts.messages": "Messages per epoch",
  "charts.messagesAria": "Messages all nodes sent per epoch, against n² − 1 and n³ − n",
  "charts.noEcho": "n² − 1 (no echo)",
  "charts.echo": "n³ − n (echo)",
  "charts.measured": "measured",
  "charts.empty": "waiting for data",
  "charts.note": "Messages are counted from each node's sent-frames counter (every kind). This implementation's echo skips the link a message came from and its sender, so it stays below n³ − n.",

  "glossary.title": "Glossary",
  "glossary.epoch": "epoch",
  "glossary.epoch.def": "A slot of 2Δ seconds. Epoch e has one leader, computed from e alone, so every node agrees on it without talking.",
  "glossary.leader": "leader",
  "glossary.leader.def": "The node allowed to propose in an epoch: round-robin (e mod n) or a hash of e.",
  "glossary.proposal": "proposal",
  "glossary.proposal.def": "The leader's new block: it extends the longest notarized chain the leader has seen, with pending transactions not already in it.",
  "glossary.vote": "vote",
  "glossary.vote.def": "A node's support for the first proposal of the epoch's leader, given only during that epoch, at most once, and only if the block is strictly longer than every notarized chain it has seen.",
  "glossary.notarized": "notarized",
  "glossary.notarized.def": "A block with votes from more than n/2 distinct nodes. A chain is notarized when all its blocks are.",
  "glossary.finalized": "finalized",
  "glossary.finalized.def": "Permanent. Three notarized blocks of consecutive epochs in one chain make the middle one final, with its whole prefix.",
  "glossary.echo": "echo",
  "glossary.echo.def": "Every node forwards each distinct message it receives to everyone, once, so a message still spreads when its sender crashes mid-broadcast.",
  "glossary.quorum": "quorum",
  "glossary.quorum.def": "More than half of the n nodes: ⌊n/2⌋ + 1 (3 of 5, 3 of 4). Two quorums always share a node.",
  "glossary.delta": "Δ",
  "glossary.delta.def": "The delay bound: after GST a message arrives within Δ. An epoch lasts 2Δ.",
  "glossary.gst": "GST",
  "glossary.gst.def": "Global stabilisation time: an unknown moment after which the network keeps to Δ. Safety never depends on it; liveness starts after it.",
  "glossary.fork": "fork",
  "glossary.fork.def": "Two blocks extending the same parent. Both may be notarized, but at most one branch ever becomes final.",
  "glossary.crashRecovery": "crash-recovery",
  "glossary.crashRecovery.def": "A node that stops and restarts with its store. It keeps its promises (epochs it voted in, the height its last vote extended) and catches up from its peers.",
};

const PT = {
  "lang.label": "Idioma",
  "clock.aria": "Relógio das épocas",
  "clock.epoch": "época",
  "clock.leader": "líder",
  "clock.paused": "em pausa",
  "clock.left": "faltam {s} s",
  "safety.waiting": "segurança: à espera de dados",
  "safety.ok": "segurança ✓ as cadeias finais concordam (altura {height})",
  "safety.bad": "VIOLAÇÃO DE SEGURANÇA: {detail}",
  "safety.seeLog": "ver o registo",
  "conn.connecting": "a ligar…",
  "conn.live": "ligado",
  "conn.lost": "desligado: a tentar de novo",
  "error.offline": "sem ligação ao servidor",
  "error.timeout": "o servidor não respondeu a tempo",

  "controls.aria": "Controlo do relógio e dos cenários",
  "controls.pause": "Pausar",
  "controls.step": "Avançar",
  "controls.resume": "Retomar",
  "controls.setDelta": "Definir Δ",
  "controls.scenario": "cenário",
  "controls.play": "Executar",
  "controls.starting": "a iniciar o cluster do cenário…",

  "network.title": "Rede",
  "network.echoes": "mostrar ecos",
  "network.aria": "Os nós num anel, com as mensagens em trânsito entre eles",
  "network.note": "Clique num nó para o inspecionar.",
  "network.noteSkipped": "Clique num nó para o inspecionar. {count} mensagens eram demasiadas para desenhar.",
  "network.leader": "líder",
  "network.crashed": "em falha",
  "network.height": "altura {height}",
  "network.nodeAria": "nó {id}, {status}",

  "tree.title": "Árvore de blocos",
  "tree.hint": "épocas da esquerda para a direita, bifurcações em faixas por baixo",
  "tree.aria": "Os blocos das últimas épocas, por época e bifurcação",
  "tree.whyHint": "Clique num bloco para ver porque é, ou ainda não é, final.",
  "tree.votes": "{votes}/{quorum} votos",
  "tree.votesDone": "✓ {votes} votos",
  "tree.meterAria": "{votes} de {quorum} votos",
  "tree.justification": "épocas {first}, {middle}, {third} seguidas: b{middle} final",

  "insp.title": "Inspetor de nós",
  "insp.node": "Nó n{id}",
  "insp.hint": "Clique num nó do anel.",
  "insp.crash": "Provocar falha",
  "insp.restart": "Reiniciar",
  "insp.restarting": "a reiniciar…",
  "insp.tail": "Cadeia finalizada, últimos blocos",
  "insp.log": "O seu registo recente",
  "insp.down": "em baixo",
  "insp.noneYet": "nenhum ainda",
  "insp.voteIn": "{block} na época {epoch}",
  "insp.messagesValue": "{sent} enviadas, {received} recebidas",
  "insp.row.status": "estado",
  "insp.row.pid": "pid",
  "insp.row.port": "porto",
  "insp.row.uptime": "tempo ativo",
  "insp.row.restarts": "reinícios",
  "insp.row.epoch": "época",
  "insp.row.finalizedHeight": "altura finalizada",
  "insp.row.pendingTxs": "transações pendentes",
  "insp.row.lastVote": "último voto",
  "insp.row.messages": "mensagens",
  "status.running": "em execução",
  "status.crashed": "em falha",
  "status.starting": "a arrancar",
  "network.nodeTitle": "n{id}: {status}, pid {pid}, altura finalizada {height}",
  "tx.line": "tx {id}: {sender} → {receiver}, {amount}",
  "tx.statusIn": "{status} em b{epoch}",
  "tx.status.pending": "pendente",
  "tx.status.proposed": "proposta",
  "tx.status.notarized": "notarizada",
  "tx.status.finalized": "finalizada",

  "tx.title": "Transações",
  "tx.sender": "remetente",
  "tx.receiver": "destinatário",
  "tx.amount": "montante",
  "tx.submit": "Enviar",
  "tx.random": "transações aleatórias",
  "tx.rate": "ritmo",
  "tx.perSecond": "por segundo",
  "tx.listAria": "Transações enviadas a partir desta página",

  "log.title": "Registo de eventos",

  "legend.aria": "Legenda",
  "legend.proposed": "proposto",
  "legend.notarized": "notarizado",
  "legend.finalized": "finalizado",
  "legend.consecutive": "3 épocas consecutivas",
  "legend.leader": "líder",
  "legend.crashed": "em falha",
  "legend.proposal": "proposta",
  "legend.vote": "voto",
  "legend.transaction": "transação",
  "legend.catchUp": "recuperação do atraso",
  "legend.echo": "eco",
  "legend.lost": "perdida",
  "legend.partitioned": "partição",
  "legend.slow": "ligação lenta",

  "cluster.summary": "Definições do cluster",
  "cluster.nodes": "nós",
  "cluster.delta": "Δ (s)",
  "cluster.leaders": "líderes",
  "cluster.roundRobin": "rotativos",
  "cluster.hash": "por hash",
  "cluster.echo": "eco",
  "cluster.restart": "Reiniciar o cluster",
  "cluster.starting": "a iniciar um novo cluster…",

  "caption.aria": "Narração",
  "caption.title": "O que acabou de acontecer",
  "caption.waiting": "À espera dos primeiros eventos…",
  "caption.history": "Antes disso",

  "votegrid.title": "Grelha de votos",
  "votegrid.hint": "nós × as últimas épocas",
  "votegrid.aria": "Para cada nó e cada época recente: votou, não votou ou estava em falha",
  "votegrid.voted": "votou",
  "votegrid.skipped": "não votou (a regra não deixou)",
  "votegrid.none": "sem voto",
  "votegrid.crashed": "em falha",
  "votegrid.leader": "líder",
  "votegrid.cellVoted": "n{node}, época {epoch}: votou em {block}",
  "votegrid.cellSkipped": "n{node}, época {epoch}: não votou: {reason}",
  "votegrid.cellNone": "n{node}, época {epoch}: sem voto",
  "votegrid.cellNoBlock": "n{node}, época {epoch}: sem voto (não viu proposta)",
  "votegrid.cellCrashed": "n{node}, época {epoch}: em falha",
  "votegrid.column": "época {epoch}, líder n{leader}",

  "nodetree.title": "A árvore de um só nó",
  "nodetree.pick": "nó",
  "nodetree.aria": "Os blocos que o nó escolhido tem, e os que notarizou e finalizou",
  "nodetree.summary": "n{node} tem {held} blocos das últimas {epochs} épocas: {notarized} notarizados e {final} finais neste nó{orphans}.",
  "nodetree.orphans": "; {count} à parte até chegar o pai",
  "nodetree.none": "Escolha um nó para ver a árvore tal como esse nó a conhece.",
  "nodetree.down": "n{node} está em baixo: é isto que sabia quando falhou.",
  "nodetree.held": "recebido",
  "nodetree.notarized": "notarizado neste nó",
  "nodetree.final": "final neste nó",
  "nodetree.orphan": "à parte (pai desconhecido)",
  "nodetree.voted": "votou",

  "charts.title": "Gráficos ao vivo",
  "charts.latency": "Latência da finalização (épocas da proposta até final)",
  "charts.latencyAria": "Épocas entre a proposta de cada bloco e a sua primeira finalização",
  "charts.tps": "Transações finalizadas por segundo",
  "charts.tpsAria": "Transações finalizadas em cada segundo",
  "charts.messages": "Mensagens por época",
  "charts.messagesAria": "Mensagens enviadas por todos os nós em cada época, face a n² − 1 e n³ − n",
  "charts.noEcho": "n² − 1 (sem eco)",
  "charts.echo": "n³ − n (com eco)",
  "charts.measured": "medido",
  "charts.empty": "à espera de dados",
  "charts.note": "As mensagens são contadas pelo contador de tramas enviadas de cada nó (de todos os tipos). O eco desta implementação não reenvia pela ligação de onde a mensagem veio nem ao seu remetente, por isso fica abaixo de n³ − n.",

  "glossary.title": "Glossário",
  "glossary.epoch": "época",
  "glossary.epoch.def": "Um intervalo de 2Δ segundos. A época e tem um líder, calculado apenas a partir de e, por isso todos os nós concordam sem trocar mensagens.",
  "glossary.leader": "líder",
  "glossary.leader.def": "O nó que pode propor numa época: rotativo (e mod n) ou dado por um hash de e.",
  "glossary.proposal": "proposta",
  "glossary.proposal.def": "O novo bloco do líder: estende a cadeia notarizada mais longa que o líder viu, com transações pendentes que ainda não estão nela.",
  "glossary.vote": "voto",
  "glossary.vote.def": "O apoio de um nó à primeira proposta do líder da época, dado só durante essa época, no máximo uma vez, e só se o bloco for estritamente mais longo do que qualquer cadeia notarizada que o nó tenha visto.",
  "glossary.notarized": "notarizado",
  "glossary.notarized.def": "Um bloco com votos de mais de n/2 nós distintos. Uma cadeia está notarizada quando todos os seus blocos estão.",
  "glossary.finalized": "finalizado",
  "glossary.finalized.def": "Definitivo. Três blocos notarizados de épocas consecutivas numa só cadeia tornam final o do meio, com todo o seu prefixo.",
  "glossary.echo": "eco",
  "glossary.echo.def": "Cada nó reenvia a todos, uma única vez, cada mensagem distinta que recebe; assim uma mensagem espalha-se mesmo que o remetente falhe a meio do envio.",
  "glossary.quorum": "quórum",
  "glossary.quorum.def": "Mais de metade dos n nós: ⌊n/2⌋ + 1 (3 de 5, 3 de 4). Dois quóruns têm sempre um nó em comum.",
  "glossary.delta": "Δ",
  "glossary.delta.def": "O limite dos atrasos: depois do GST uma mensagem chega em menos de Δ. Uma época dura 2Δ.",
  "glossary.gst": "GST",
  "glossary.gst.def": "Tempo de estabilização global: um momento desconhecido a partir do qual a rede respeita Δ. A segurança nunca depende dele; a vivacidade começa depois dele.",
  "glossary.fork": "bifurcação",
  "glossary.fork.def": "Dois blocos que estendem o mesmo pai. Ambos podem ser notarizados, mas no máximo um dos ramos chega a ser final.",
  "glossary.crashRecovery": "falha e recuperação",
  "glossary.crashRecovery.def": "Um nó que para e volta a arrancar com o seu armazenamento. Cumpre o que prometeu (as épocas em que votou, a altura que o último voto estendeu) e recupera o atraso junto dos pares.",
};

export const DICTIONARY = { en: EN, pt: PT };

/** Glossary entries, in the order the page lists them. */
export const GLOSSARY = ["epoch", "leader", "proposal", "vote", "notarized", "finalized",
  "echo", "quorum", "delta", "gst", "fork", "crashRecovery"];

let current = "en";
const listeners = new Set();

export function getLang() {
  return current;
}

/** Fill {name} placeholders; a missing one stays visible rather than vanish. */
export function format(template, params = {}) {
  return template.replace(/\{(\w+)\}/g, (whole, name) => (
    params[name] === undefined || params[name] === null ? whole : String(params[name])));
}

/** The text of `key` in `lang` (the current language by default). */
export function t(key, params, lang = current) {
  const table = DICTIONARY[lang] ?? EN;
  const template = table[key] ?? EN[key];
  if (template === undefined) return key;
  return format(template, params);
}

/** Pick a language; remembered in `storage` (localStorage on the page). */
export function setLang(lang, storage = globalThis.localStorage) {
  if (!LANGS.includes(lang)) return false;
  const changed = lang !== current;
  current = lang;
  try {
    storage?.setItem(STORAGE_KEY, lang);
  } catch {
    // Private browsing may refuse storage; the choice then lasts the visit.
  }
  if (changed) for (const listener of listeners) listener(lang);
  return true;
}

/** The language saved by an earlier visit, or English. */
export function savedLang(storage = globalThis.localStorage) {
  let saved = null;
  try {
    saved = storage?.getItem(STORAGE_KEY) ?? null;
  } catch {
    saved = null;
  }
  return LANGS.includes(saved) ? saved : "en";
}

export function onLangChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Put the current language's text into every marked element under `root`. */
export function applyI18n(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":").map((s) => s.trim());
      if (attr && key) el.setAttribute(attr, t(key));
    }
  }
  if (root.documentElement) root.documentElement.lang = current === "pt" ? "pt-PT" : "en";
}
