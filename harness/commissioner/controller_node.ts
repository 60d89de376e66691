/**
 * A matter.js controller node on loopback (the commissioner, the OTA provider): one place for how mfgsim runs a
 * controller — real UDP on 127.0.0.1 / ::1 only, no mDNS/BLE, no commissioning window of its own, and loopback
 * peers without the "conservative" profile matter.js applies to peers of unknown medium (a 100 ms inter-exchange
 * delay and 1.5 s of extra MRP padding: reads 100 → 4 ms, commissioning 190 → 80 ms).
 */
import { ControllerBehavior, EndpointNumber, Seconds, ServerNode, type Endpoint, type Environment } from "@matter/main";
import { BasicInformation } from "@matter/main/clusters/basic-information";
import { ClientInteraction, FabricAuthority, PeerSet, Read, type Fabric, type PeerAddress } from "@matter/main/protocol";

export interface ControllerNodeOptions {
    id: string;
    environment: Environment;
    fabricLabel: string;
    /** Basic Information of the controller itself. */
    productId: number;
    productName: string;
    /** Endpoints the controller serves (e.g. an OTA provider). */
    parts?: Endpoint[];
}

/** Creates, starts and loads the controller; returns the node and its default fabric. */
export async function startControllerNode(o: ControllerNodeOptions): Promise<{ node: ServerNode; fabric: Fabric }> {
    const node = await ServerNode.create(ServerNode.RootEndpoint.with(ControllerBehavior), {
        id: o.id,
        environment: o.environment,
        network: {
            port: 0, listeningAddressIpv4: "127.0.0.1", listeningAddressIpv6: "::1", ble: false,
            profiles: { unknown: { exchanges: 200, delay: 0, additionalMrpDelay: 0 } },
        },
        controller: { adminFabricLabel: o.fabricLabel, ip: false, ble: false },
        commissioning: { enabled: false },
        basicInformation: {
            vendorId: 0xfff1, vendorName: "mfgsim", productId: o.productId, productName: o.productName,
            hardwareVersion: 1, softwareVersion: 1, nodeLabel: "", hardwareVersionString: "1", softwareVersionString: "1",
        },
        ...(o.parts ? { parts: o.parts } : {}),
    } as never);
    await node.start();
    await node.act(agent => agent.load(ControllerBehavior));
    const config = await node.act(agent => agent.get(ControllerBehavior).fabricAuthorityConfig);
    const fabric = await node.env.get(FabricAuthority).defaultFabric(config);
    return { node, fabric };
}

/**
 * Reads Basic Information attributes (endpoint 0) of a commissioned peer over CASE, with the "fast" interaction
 * profile (loopback peers need no 100 ms inter-exchange throttle). Returns attribute name → value.
 */
export async function readBasicInformationOf(node: ServerNode, address: PeerAddress, attributes: readonly string[]): Promise<Record<string, unknown>> {
    const peer = node.env.get(PeerSet).for(address);
    await peer.connect({ connectionTimeout: Seconds(10) } as never);
    const interaction = new ClientInteraction({ environment: node.env, exchangeProvider: peer.exchangeProvider, address, network: "fast" } as never);
    const out: Record<string, unknown> = {};
    try {
        const request = Read(Read.Attribute({ endpoint: EndpointNumber(0), cluster: BasicInformation, attributes: [...attributes] } as never));
        for await (const chunk of interaction.read(request)) {
            for await (const entry of chunk) {
                if (entry.kind !== "attr-value") continue;
                const attr = BasicInformation.attributes as Record<string, { id: number }>;
                const name = Object.keys(attr).find(k => attr[k]!.id === entry.path.attributeId);
                if (name !== undefined) out[name] = entry.value;
            }
        }
    } finally {
        await interaction.close();
    }
    return out;
}
