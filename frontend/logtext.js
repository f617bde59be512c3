// The event logs' lines in European Portuguese.
//
// DOM-free. describe.js words each log line in English once, when its event
// arrives (whether a cluster-wide line is new depends on the events before
// it, so the line cannot be worded again later). This module translates
// such a line by the shape describe.js gives it; tests/web/js/i18n.test.mjs
// runs describe.js on one event of every kind and checks that each line has
// a translation. A line of a shape not listed here is shown in English.
// Text inside a line that came from the server as free text (a safety
// detail, a scenario's description) stays in English.

const plural = (count, one, many) => `${count} ${Number(count) === 1 ? one : many}`;

const KINDS = { propose: "proposta", block: "bloco", tx: "transação", vote: "voto" };
const STATUS = { running: "em execução", crashed: "em falha", starting: "a arrancar" };

/** The core's reasons (backend/core/state.py), in Portuguese. */
const REASONS = [
  [/^its height or epoch does not follow its parent$/,
    () => "a altura ou a época não seguem as do pai"],
  [/^height or epoch does not follow its parent$/,
    () => "a altura ou a época não seguem as do pai"],
  [/^(b\d+) was already notarized by the others' votes$/,
    (m) => `${m[1]} já foi notarizado pelos votos dos outros`],
  [/^it has seen a notarized chain of height (\d+), as long as (b\d+)$/,
    (m) => `já viu uma cadeia notarizada de altura ${m[1]}, tão longa como ${m[2]}`],
  [/^before restarting it voted for a block extending height (\d+)$/,
    (m) => `antes de reiniciar votou num bloco que estendia a altura ${m[1]}`],
  [/^the block repeats a transaction of its chain$/,
    () => "o bloco repete uma transação da sua cadeia"],
  [/^n(\d+) is not the leader of epoch (\d+) \(n(\d+) is\)$/,
    (m) => `n${m[1]} não é o líder da época ${m[2]} (é n${m[3]})`],
  [/^epoch (\d+) is long past$/, (m) => `a época ${m[1]} já passou há muito`],
  [/^epoch (\d+) is too far ahead$/, (m) => `a época ${m[1]} está demasiado à frente`],
  [/^a second proposal in the same epoch$/, () => "uma segunda proposta na mesma época"],
  [/^too many blocks waiting for ancestors$/,
    () => "demasiados blocos à espera dos antepassados"],
  [/^the transaction pool is full$/, () => "o conjunto de transações pendentes está cheio"],
];

function reason(text) {
  for (const [pattern, words] of REASONS) {
    const m = pattern.exec(text);
    if (m) return words(m);
  }
  return text;
}

function faultParts(text) {
  return text.split("; ").map((part) => {
    if (part.startsWith("partition ")) return `partição ${part.slice(10)}`;
    return part.replace(/ ms delay/, " ms de atraso").replace(/% loss/, "% de perda");
  }).join("; ");
}

const LINES = [
  // --- the cluster's log (describe) ---
  [/^epoch (\d+) begins: leader (n\d+)$/, (m) => `começa a época ${m[1]}: líder ${m[2]}`],
  [/^epoch (\d+): (n\d+) proposed (\S+) extending (\S+?)(?: with (\d+) txs?)?$/,
    (m) => `época ${m[1]}: ${m[2]} propôs ${m[3]}, que estende ${m[4]}`
      + (m[5] ? `, com ${plural(m[5], "transação", "transações")}` : "")],
  [/^(\S+) notarized \((\S+)\/(\d+) votes\)$/,
    (m) => `${m[1]} notarizado (${m[2]}/${m[3]} votos)`],
  [/^(.+) finalized \((.+): three consecutive epochs\)$/,
    (m) => `${m[1]} ${m[1].includes(",") ? "finalizados" : "finalizado"} `
      + `(${m[2]}: três épocas consecutivas)`],
  [/^(.+) finalized$/,
    (m) => `${m[1]} ${m[1].includes(",") ? "finalizados" : "finalizado"}`],
  [/^(n\d+) crashed \(process (\S+) killed\)$/,
    (m) => `${m[1]} falhou (processo ${m[2]} terminado)`],
  [/^(n\d+) is running \(pid (\S+)\)$/, (m) => `${m[1]} está em execução (pid ${m[2]})`],
  [/^(n\d+) is restarting$/, (m) => `${m[1]} está a reiniciar`],
  [/^(n\d+) caught up: finalized height (\d+)$/,
    (m) => `${m[1]} recuperou o atraso: altura finalizada ${m[2]}`],
  [/^(n\d+) reloaded its store: (\d+) blocks?, (\d+) votes?, finalized height (\d+)$/,
    (m) => `${m[1]} recarregou o armazenamento: ${plural(m[2], "bloco", "blocos")}, `
      + `${plural(m[3], "voto", "votos")}, altura finalizada ${m[4]}`],
  [/^tx (\S+) submitted: account (\S+) → (\S+), amount (\S+) \(via (n\d+)\)$/,
    (m) => `tx ${m[1]} enviada: conta ${m[2]} → ${m[3]}, montante ${m[4]} (via ${m[5]})`],
  [/^SAFETY VIOLATION at (n\d+): (.*)$/s,
    (m) => `VIOLAÇÃO DE SEGURANÇA em ${m[1]}: ${m[2]}`],
  [/^epoch clock paused in epoch (\d+)$/,
    (m) => `relógio das épocas em pausa na época ${m[1]}`],
  [/^epoch clock running: epochs of (\S+) s \(2Δ\)$/,
    (m) => `relógio das épocas a andar: épocas de ${m[1]} s (2Δ)`],
  [/^(n\d+): confusion period over, (\d+) held messages? processed now$/,
    (m) => `${m[1]}: fim do período de confusão, `
      + `${plural(m[2], "mensagem retida processada", "mensagens retidas processadas")} agora`],
  [/^scenario: (.*)$/s, (m) => `cenário: ${m[1]}`],
  [/^network faults: (.*)$/, (m) => `falhas de rede: ${faultParts(m[1])}`],
  [/^network healed$/, () => "rede reparada"],
  [/^cluster of (\d+) nodes started: Δ = (\S+) s, (\S+) leaders, echo (on|off)$/,
    (m) => `cluster de ${m[1]} nós iniciado: Δ = ${m[2]} s, líderes `
      + `${m[3] === "round-robin" ? "rotativos" : m[3] === "hash" ? "por hash" : m[3]}, `
      + `eco ${m[4] === "on" ? "ligado" : "desligado"}`],

  // --- a node's own log (describeForNode) ---
  [/^epoch (\d+) \(leader (n\d+)\)$/, (m) => `época ${m[1]} (líder ${m[2]})`],
  [/^proposed (\S+) extending (\S+)$/, (m) => `propôs ${m[1]}, que estende ${m[2]}`],
  [/^voted for (\S+) in epoch (\d+)$/, (m) => `votou em ${m[1]} na época ${m[2]}`],
  [/^did not vote for (\S+): (.*)$/s, (m) => `não votou em ${m[1]}: ${reason(m[2])}`],
  [/^saw (\S+) notarized$/, (m) => `viu ${m[1]} notarizado`],
  [/^finalized (.+) \(height (\d+)\)$/, (m) => `finalizou ${m[1]} (altura ${m[2]})`],
  [/^took tx (\S+) into its pool$/, (m) => `guardou a tx ${m[1]} nas pendentes`],
  [/^holds (\S+) until its parent arrives$/,
    (m) => `guarda ${m[1]} até o pai chegar`],
  [/^synced from (n\d+): learned (\d+) blocks?$/,
    (m) => `sincronizou com ${m[1]}: ${plural(m[2], "bloco novo", "blocos novos")}`],
  [/^caught up: finalized height (\d+)$/,
    (m) => `recuperou o atraso: altura finalizada ${m[1]}`],
  [/^started \(pid (\S+?)(, restored from its store)?\)$/,
    (m) => `arrancou (pid ${m[1]}${m[2] ? ", reposto a partir do armazenamento" : ""})`],
  [/^reloaded (\d+) blocks? from its store$/,
    (m) => `recarregou ${plural(m[1], "bloco", "blocos")} do armazenamento`],
  [/^(running|crashed|starting)(?: \(pid (\S+)\))?$/,
    (m) => `${STATUS[m[1]]}${m[2] ? ` (pid ${m[2]})` : ""}`],
  [/^rejected a (\w+): (.*)$/s,
    (m) => `rejeitou ${m[1] === "tx" || m[1] === "propose" ? "uma" : "um"} `
      + `${KINDS[m[1]] ?? m[1]}: ${reason(m[2])}`],
  [/^dropped a frame: (.*)$/s, (m) => `descartou uma trama: ${m[1]}`],
  [/^SAFETY VIOLATION: (.*)$/s, (m) => `VIOLAÇÃO DE SEGURANÇA: ${m[1]}`],
];

/** The log line `text` (as describe.js words it) in `lang`. */
export function translateLog(text, lang) {
  if (lang !== "pt" || typeof text !== "string") return text;
  for (const [pattern, words] of LINES) {
    const m = pattern.exec(text);
    // describe.js names a block it has no epoch for by its hash's start.
    if (m) return words(m).replace(/\bblock ([0-9a-f]{6})\b/g, "bloco $1");
  }
  return text;
}
