//! A client: a person's browser or app. It logs in, makes requests with its token, refreshes
//! it before expiry, goes idle, and logs in again when a request is rejected.

use crate::config::Config;
use crate::model::TokenFacts;
use crate::rng::SimRng;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    LoggedOut,
    Active { until_ms: u64 },
    Idle,
}

#[derive(Debug)]
pub(crate) struct HeldToken {
    pub(crate) text: String,
    pub(crate) facts: TokenFacts,
    /// When the client believes the token expires: issue time plus lifetime, by its own clock
    /// (true time).
    pub(crate) expires_ms: u64,
    /// How far the issuing node's clock was off true time when it issued the token.
    pub(crate) issuer_error_ms: i64,
}

/// What a client does when its timer fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// It has no session: it logs in.
    LogIn,
    /// It is active: it uses its token ([`Client::turn`]).
    Act,
    /// Its active period ended: it pauses this long (idle, or logged out).
    Pause { pause_ms: u64 },
}

/// What an active client does with its token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Turn {
    /// It holds none: it logs in.
    LogIn,
    /// Its token expired (by its clock): it dropped it and logs in again.
    Expired,
    /// Its token is old enough to refresh.
    Refresh,
    /// A plain request.
    Request,
}

#[derive(Debug)]
pub(crate) struct Client {
    pub(crate) phase: Phase,
    /// Its access token.
    pub(crate) token: Option<HeldToken>,
    /// Its refresh token, a separate long-lived credential, if the deployment issues them.
    pub(crate) refresh: Option<HeldToken>,
    /// Resends its last token after an idle period without checking its expiry.
    stale_habit: bool,
    /// Never refreshes: uses each token to its last millisecond.
    pub(crate) to_the_end: bool,
}

impl Client {
    /// A client whose habits `behaviour` draws by the configured shares.
    pub(crate) fn new(behaviour: &mut SimRng, config: &Config) -> Self {
        Self {
            phase: Phase::LoggedOut,
            token: None,
            refresh: None,
            stale_habit: behaviour.chance(config.stale_token_clients_per_mille),
            to_the_end: behaviour.chance(config.to_the_end_clients_per_mille),
        }
    }

    /// The client's timer fired at `now_ms`.
    pub(crate) fn wake(&mut self, now_ms: u64, behaviour: &mut SimRng, config: &Config) -> Wake {
        match self.phase {
            Phase::LoggedOut => Wake::LogIn,
            Phase::Idle => {
                let until_ms = now_ms + behaviour.exponential(config.session_active_mean_ms);
                self.phase = Phase::Active { until_ms };
                Wake::Act
            }
            Phase::Active { until_ms } if now_ms >= until_ms => {
                let pause_ms = behaviour.exponential(config.session_idle_mean_ms);
                if behaviour.chance(config.logout_per_mille) {
                    self.token = None;
                    self.refresh = None;
                    self.phase = Phase::LoggedOut;
                } else {
                    self.phase = Phase::Idle;
                }
                Wake::Pause { pause_ms }
            }
            Phase::Active { .. } => Wake::Act,
        }
    }

    /// What the active client does at `now_ms` with tokens that live `ttl_ms`, refreshed
    /// from `refresh_at_per_mille` of their life.
    pub(crate) fn turn(&mut self, now_ms: u64, ttl_ms: u64, refresh_at_per_mille: u32) -> Turn {
        let Some(held) = &self.token else { return Turn::LogIn };
        let expired = now_ms >= held.expires_ms;
        if expired && !self.stale_habit {
            self.token = None;
            return Turn::Expired;
        }
        let age_ms = now_ms - held.facts.issued_ms;
        let refresh_from_ms = ttl_ms * u64::from(refresh_at_per_mille) / 1000;
        if !expired && age_ms >= refresh_from_ms && !self.to_the_end {
            Turn::Refresh
        } else {
            Turn::Request
        }
    }

    /// The client logged in with `held`; a client that was logged out starts an active period.
    pub(crate) fn logged_in(&mut self, held: HeldToken, now_ms: u64, behaviour: &mut SimRng, config: &Config) {
        self.token = Some(held);
        if self.phase == Phase::LoggedOut {
            let until_ms = now_ms + behaviour.exponential(config.session_active_mean_ms);
            self.phase = Phase::Active { until_ms };
        }
    }

    /// The client's refresh token, if it holds one it believes unexpired at `now_ms`.
    pub(crate) fn valid_refresh(&self, now_ms: u64) -> bool {
        self.refresh.as_ref().is_some_and(|refresh| now_ms < refresh.expires_ms)
    }

    /// Whether the client still holds the token it got at `issued_ms`, and a session.
    pub(crate) fn holds(&self, issued_ms: u64) -> bool {
        let holds = self.token.as_ref().is_some_and(|held| held.facts.issued_ms == issued_ms);
        holds && self.phase != Phase::LoggedOut
    }
}
