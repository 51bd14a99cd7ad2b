//! The load balancer: which node a request reaches. A node that is up verifies; a login or a
//! refresh goes only to a node whose readiness check says it can sign.

use crate::config::{LoadBalancing, NODES_MAX};
use crate::node::Node;
use crate::rng::SimRng;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Verify a token: any node that is up.
    Verify,
    /// Issue a token (login, refresh): a node that is up and has a key it may sign with.
    Issue,
}

#[derive(Debug)]
pub(crate) struct Balancer {
    load_balancing: LoadBalancing,
}

impl Balancer {
    pub(crate) fn new(load_balancing: LoadBalancing) -> Self {
        Self { load_balancing }
    }

    /// Whether `node` takes a request for `purpose` at `now_ms`.
    pub(crate) fn eligible(node: &Node, now_ms: u64, purpose: Purpose) -> bool {
        node.is_up() && (purpose == Purpose::Verify || node.can_sign(now_ms))
    }

    /// The node a request goes to: the client's home node (sticky) or any node (random, and
    /// always for the attacker), among those that can serve it; `network` draws it.
    pub(crate) fn pick(
        &self,
        nodes: &[Node],
        now_ms: u64,
        purpose: Purpose,
        client: Option<u32>,
        network: &mut SimRng,
    ) -> Option<usize> {
        let count = nodes.len();
        if let (LoadBalancing::Sticky, Some(client)) = (self.load_balancing, client) {
            let home = client as usize % count;
            return (0..count)
                .map(|offset| (home + offset) % count)
                .find(|&node| Self::eligible(&nodes[node], now_ms, purpose));
        }
        let mut candidates = [0u16; NODES_MAX as usize];
        let mut found = 0;
        for (index, node) in nodes.iter().enumerate() {
            if Self::eligible(node, now_ms, purpose) {
                candidates[found] = index as u16;
                found += 1;
            }
        }
        let chosen = network.pick(&candidates[..found])?;
        Some(usize::from(*chosen))
    }
}
