/// A directory group and its direct members (DNs, which may name other groups).
public struct DirectoryGroup: Sendable, Hashable, Codable {
    public var anchor: String
    public var dn: String
    public var members: [String]

    public init(anchor: String, dn: String, members: [String]) {
        self.anchor = anchor
        self.dn = dn
        self.members = members
    }
}

/// Nested group expansion: for each group, every non-group member reachable through groups of
/// groups. Cycles (A contains B contains A) are safe: groups in one cycle share their members.
///
/// Linear in groups plus memberships: strongly connected components (Tarjan, iterative, so a deep
/// chain cannot exhaust the stack) are expanded once each, in reverse topological order. DNs are
/// compared case-insensitively, as LDAP does for the usual attribute types.
public enum GroupExpansion {
    /// Group DN (lower-cased) → the DNs (lower-cased) of its direct and nested non-group members.
    public static func effectiveMembers(_ groups: [DirectoryGroup]) -> [String: Set<String>] {
        let keys = groups.map { $0.dn.lowercased() }
        var index: [String: Int] = [:]
        for (position, key) in keys.enumerated() { index[key] = position }
        let edges: [[Int]] = groups.map { group in group.members.compactMap { index[$0.lowercased()] } }
        let direct: [Set<String>] = groups.map { group in
            Set(group.members.map { $0.lowercased() }.filter { index[$0] == nil })
        }
        let (component, order) = components(edges)
        // Tarjan emits components so that every component comes after the ones it reaches.
        var expanded = [Set<String>](repeating: [], count: order.count)
        for (id, nodes) in order.enumerated() {
            var members = Set<String>()
            for node in nodes {
                members.formUnion(direct[node])
                for next in edges[node] where component[next] != id {
                    members.formUnion(expanded[component[next]])
                }
            }
            expanded[id] = members
        }
        var result: [String: Set<String>] = [:]
        result.reserveCapacity(groups.count)
        for (position, key) in keys.enumerated() { result[key] = expanded[component[position]] }
        return result
    }

    /// Strongly connected components: each node's component id, and each component's nodes, in
    /// the order Tarjan's algorithm completes them (successors first).
    static func components(_ edges: [[Int]]) -> (component: [Int], order: [[Int]]) {
        let count = edges.count
        var indexOf = [Int](repeating: -1, count: count)
        var lowlink = [Int](repeating: 0, count: count)
        var onStack = [Bool](repeating: false, count: count)
        var component = [Int](repeating: -1, count: count)
        var stack: [Int] = []
        var order: [[Int]] = []
        var counter = 0
        for root in 0..<count where indexOf[root] == -1 {
            // Each frame: node and the position of the next edge to visit.
            var frames: [(node: Int, edge: Int)] = [(root, 0)]
            indexOf[root] = counter
            lowlink[root] = counter
            counter += 1
            stack.append(root)
            onStack[root] = true
            while let frame = frames.last {
                let node = frame.node
                if frame.edge < edges[node].count {
                    frames[frames.count - 1].edge += 1
                    let next = edges[node][frame.edge]
                    if indexOf[next] == -1 {
                        indexOf[next] = counter
                        lowlink[next] = counter
                        counter += 1
                        stack.append(next)
                        onStack[next] = true
                        frames.append((next, 0))
                    } else if onStack[next] {
                        lowlink[node] = min(lowlink[node], indexOf[next])
                    }
                    continue
                }
                frames.removeLast()
                if let parent = frames.last {
                    lowlink[parent.node] = min(lowlink[parent.node], lowlink[node])
                }
                if lowlink[node] == indexOf[node] {
                    var nodes: [Int] = []
                    while let top = stack.popLast() {
                        onStack[top] = false
                        component[top] = order.count
                        nodes.append(top)
                        if top == node { break }
                    }
                    order.append(nodes)
                }
            }
        }
        return (component, order)
    }
}
