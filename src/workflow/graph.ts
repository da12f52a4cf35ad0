/**
 * The shape of a workflow's graph of edges: its strongly connected
 * components (nodes that can each reach the others), found with Tarjan's
 * algorithm iteratively, as a chain of thousands of nodes must not recurse.
 * @module
 */

/** Components of a graph, see {@link graphComponents}. */
export interface GraphComponents {
  /**
   * Per node id, its component's number. Components are numbered in reverse topological order: when a
   * path of edges leads from a node to a node of another component, the second's number is the lower.
   */
  component: Map<string, number>;
  /** Ids of the nodes on a cycle (a node wired to itself included): the only ones that can run more than once. */
  looping: Set<string>;
}

/** The strongly connected components of the graph of `ids` joined by `edges` (edges to unknown ids are ignored). */
export function graphComponents(
  ids: readonly string[],
  edges: readonly ({ from: string; to: string } | undefined)[],
): GraphComponents {
  const next = new Map<string, string[]>(ids.map((id) => [id, []]));
  const looping = new Set<string>();
  for (const edge of edges) {
    if (edge === undefined || !next.has(edge.to)) continue;
    next.get(edge.from)?.push(edge.to);
    if (edge.from === edge.to) looping.add(edge.from);
  }
  const component = new Map<string, number>();
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  let counter = 0;
  let components = 0;
  for (const root of next.keys()) {
    if (index.has(root)) continue;
    const work: { id: string; child: number }[] = [{ id: root, child: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const children = next.get(frame.id) ?? [];
      if (frame.child < children.length) {
        const child = children[frame.child++];
        if (!index.has(child)) {
          index.set(child, counter);
          low.set(child, counter++);
          stack.push(child);
          onStack.add(child);
          work.push({ id: child, child: 0 });
        } else if (onStack.has(child)) low.set(frame.id, Math.min(low.get(frame.id)!, index.get(child)!));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].id;
        low.set(parent, Math.min(low.get(parent)!, low.get(frame.id)!));
      }
      if (low.get(frame.id) !== index.get(frame.id)) continue;
      const members: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        members.push(member);
        component.set(member, components);
      } while (member !== frame.id);
      components++;
      if (members.length > 1) { for (const id of members) looping.add(id); }
    }
  }
  return { component, looping };
}
