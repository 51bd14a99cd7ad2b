//! The network between the clients and the nodes: each request reaches its node after a
//! latency drawn for it, and waits here, in flight, until then.

use std::collections::BTreeMap;

use crate::client::HeldToken;
use crate::rng::SimRng;
use crate::trace::What;

/// A client's request on its way to a node.
#[derive(Debug)]
pub(crate) struct InFlight {
    pub(crate) client: u32,
    pub(crate) node: usize,
    pub(crate) what: What,
    pub(crate) held: HeldToken,
    pub(crate) sent_ms: u64,
    /// A request outside the client's regular ones (a burst, a to-the-end client's last one).
    pub(crate) one_shot: bool,
}

/// What the network does with a request just sent.
#[derive(Debug)]
pub(crate) enum Sent {
    /// It arrives at once (no latency drawn): here it is.
    Now(InFlight),
    /// It arrives after `latency_ms`, under `number` (see [`Network::arrive`]).
    Later { number: u32, latency_ms: u64 },
}

#[derive(Debug)]
pub(crate) struct Network {
    /// Draws each request's latency.
    latency: SimRng,
    latency_max_ms: u64,
    /// Requests on their way to a node, by number.
    in_flight: BTreeMap<u32, InFlight>,
    next_number: u32,
}

impl Network {
    /// A network whose latencies, up to `latency_max_ms`, `latency` draws.
    pub(crate) fn new(latency: SimRng, latency_max_ms: u64) -> Self {
        Self { latency, latency_max_ms, in_flight: BTreeMap::new(), next_number: 0 }
    }

    /// Puts `request` on the wire.
    pub(crate) fn send(&mut self, request: InFlight) -> Sent {
        let latency_ms = self.latency.between(0, self.latency_max_ms);
        if latency_ms == 0 {
            return Sent::Now(request);
        }
        let number = self.next_number;
        self.next_number = self.next_number.wrapping_add(1);
        self.in_flight.insert(number, request);
        Sent::Later { number, latency_ms }
    }

    /// The request `number` reaches its node.
    pub(crate) fn arrive(&mut self, number: u32) -> Option<InFlight> {
        self.in_flight.remove(&number)
    }
}
