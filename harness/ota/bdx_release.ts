/**
 * Works around a matter.js 0.17.9 leak that makes a device impossible to power off after a failed BDX download.
 *
 * `OtaSoftwareUpdateRequestorServer.#handleBdxDownload` (node_modules/@matter/node/src/behaviors/
 * ota-software-update-requestor/OtaSoftwareUpdateRequestorServer.ts, the download loop at lines ~896–943) disposes
 * the context of `ClientNodeInteraction.initBdx()` only when the transfer succeeds (`await context[Symbol.asyncDispose]()`
 * sits after `await bdx.processTransfer()` inside the `try`). After a failed attempt the request stays in
 * `ClientInteraction.#interactions` (protocol/src/action/client/ClientInteraction.ts, initBdx ~1058), and
 * `ClientInteraction.close()` waits `while (this.#interactions.size) await this.#interactions.deleted` (~228) —
 * so `ServerNode.close()` of the device never returns. The narrowest upstream fix: move the dispose into a
 * `finally` of that loop body (`try { … } finally { slot?.close(); await context[Symbol.asyncDispose](); }`).
 *
 * Here, through the public `ClientNodeInteraction.initBdx`: every BDX context is tracked per interaction; a new
 * attempt on the same interaction releases the contexts its failed predecessors left behind (the requestor makes
 * its attempts one after the other), and `releaseBdxContexts(node)` releases the rest before a power-off.
 */
import { ClientNodeInteraction, type ServerNode } from "@matter/main";

type BdxContext = { [Symbol.asyncDispose](): Promise<void> };

const open = new WeakMap<object, Set<BdxContext>>();
let installed = false;

/** Installs the tracking wrapper once per process (idempotent). */
export function trackBdxContexts(): void {
    if (installed) return;
    installed = true;
    const proto = ClientNodeInteraction.prototype as unknown as { initBdx: (...args: unknown[]) => Promise<{ context: BdxContext }> };
    const original = proto.initBdx;
    proto.initBdx = async function (this: object, ...args: unknown[]) {
        let contexts = open.get(this);
        if (!contexts) open.set(this, (contexts = new Set()));
        await releaseAll(contexts);
        const response = await original.apply(this, args);
        const { context } = response;
        const dispose = context[Symbol.asyncDispose].bind(context);
        let released: Promise<void> | undefined;
        const set = contexts;
        context[Symbol.asyncDispose] = () => {
            set.delete(context);
            return (released ??= dispose());
        };
        set.add(context);
        return response;
    };
}

async function releaseAll(contexts: Set<BdxContext>): Promise<void> {
    for (const c of [...contexts]) await c[Symbol.asyncDispose]().catch(() => undefined);
}

/** Releases the BDX contexts still open on the node's peers (call before `node.close()`). */
export async function releaseBdxContexts(node: ServerNode): Promise<void> {
    for (const peer of node.peers) {
        let interaction: object;
        try {
            interaction = peer.interaction as object;
        } catch {
            continue; // a peer that is shutting down
        }
        const contexts = open.get(interaction);
        if (contexts) await releaseAll(contexts);
    }
}
