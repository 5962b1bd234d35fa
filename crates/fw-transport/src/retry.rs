//! When to try a request again, and after how long: a pure function of the method, what
//! happened, and the attempt number, so tests call it directly.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Method;

/// How failed requests are retried.
///
/// Two schedules:
///
/// - **The server is there but busy** (statuses 429, 502, 503 and 504) or **a connection
///   broke** mid-request: the long schedule (`base_delay` doubling up to `max_delay`, at
///   most `max_attempts` attempts), for idempotent methods (GET, HEAD, OPTIONS, PUT,
///   DELETE, PATCH; PATCH because every PATCH of this API sends a full delta that can be
///   applied twice) and for a POST the caller marked safe. This rides out a server restart
///   or an overloaded proxy.
/// - **No connection could be made** (refused, no route, name not resolved): the short
///   schedule (`connect_base_delay` doubling, and no retry that would end after
///   `connect_budget` from the first attempt), for every method, since nothing was sent.
///   A wrong host or port fails in seconds, not minutes.
///
/// Not retried: 500 (the server failed, retrying will not help), read timeouts (the
/// server may still be working), and bodies that cannot be sent again.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; 1 turns retries off.
    pub max_attempts: u32,
    /// The wait before the first retry of the long schedule; it doubles each time.
    pub base_delay: Duration,
    /// The longest wait, for the backoff and for `Retry-After` alike.
    pub max_delay: Duration,
    /// The wait before the first retry of a connection that could not be made; it doubles
    /// each time.
    pub connect_base_delay: Duration,
    /// The time after which a connection that cannot be made is given up: measured from
    /// the start of the first attempt to the end of the wait before the next one.
    pub connect_budget: Duration,
}

impl Default for RetryPolicy {
    /// 8 attempts, waits of about 1, 2, 4, 8, 16, 32, 60 s for busy servers: enough to
    /// ride out a server restart during a long Friday-night job. Connections that cannot
    /// be made: waits of about 0.25, 0.5, 1, 2 s within 5 s, so a wrong host or port fails
    /// in about 5 s (plus the connect attempts themselves).
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            connect_base_delay: Duration::from_millis(250),
            connect_budget: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }
}

/// What became of one attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// The server answered with this status, and this `Retry-After` wait if it sent one.
    Status(u16, Option<Duration>),
    /// No connection could be made (refused, no route, name not resolved, connect
    /// timeout): nothing was sent.
    CannotConnect,
    /// The connection broke before an answer came: the request may have been received.
    ConnectionFailed,
    /// The connection was made but no answer came in time.
    TimedOut,
}

impl std::fmt::Display for Outcome {
    /// The reason logged with a retry: `status 503`, `cannot connect`, …
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Status(status, None) => write!(f, "status {status}"),
            Outcome::Status(status, Some(wait)) => {
                write!(f, "status {status} with Retry-After {} s", wait.as_secs())
            }
            Outcome::CannotConnect => f.write_str("cannot connect"),
            Outcome::ConnectionFailed => f.write_str("connection broke"),
            Outcome::TimedOut => f.write_str("timed out"),
        }
    }
}

/// The request, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Attempt<'a> {
    /// Its method.
    pub method: &'a Method,
    /// The caller said a POST may be sent twice.
    pub post_is_safe: bool,
    /// The body can be sent again (bytes, or a file that can be reopened).
    pub replayable: bool,
    /// Which attempt just ended, from 1.
    pub number: u32,
    /// The time from the start of the first attempt to the end of this one.
    pub elapsed: Duration,
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Wait this long, then try again.
    RetryAfter(Duration),
    /// Return the outcome to the caller.
    GiveUp,
}

impl RetryPolicy {
    /// Decides what to do after `attempt` ended in `outcome`. `jitter`, in `[0, 1)`,
    /// spreads the wait over `[backoff / 2, backoff]` so that many clients do not retry in
    /// step; a server's `Retry-After` is honoured as given (up to `max_delay`).
    pub fn decide(&self, attempt: Attempt<'_>, outcome: Outcome, jitter: f64) -> Decision {
        let idempotent = match *attempt.method {
            Method::GET
            | Method::HEAD
            | Method::OPTIONS
            | Method::PUT
            | Method::DELETE
            | Method::PATCH => true,
            Method::POST => attempt.post_is_safe,
            _ => false,
        };
        let retryable = match outcome {
            Outcome::Status(status, _) => idempotent && matches!(status, 429 | 502 | 503 | 504),
            Outcome::ConnectionFailed => idempotent,
            // Nothing reached the server, so any method may be sent again.
            Outcome::CannotConnect => true,
            Outcome::TimedOut => false,
        };
        if !retryable || !attempt.replayable || attempt.number >= self.max_attempts {
            return Decision::GiveUp;
        }
        match outcome {
            Outcome::Status(_, Some(wait)) => Decision::RetryAfter(wait.min(self.max_delay)),
            Outcome::CannotConnect => {
                let wait = doubling(
                    self.connect_base_delay,
                    self.max_delay,
                    attempt.number,
                    jitter,
                );
                if attempt.elapsed.saturating_add(wait) > self.connect_budget {
                    Decision::GiveUp
                } else {
                    Decision::RetryAfter(wait)
                }
            }
            _ => Decision::RetryAfter(self.backoff(attempt.number, jitter)),
        }
    }

    /// The wait of the long schedule after attempt `number` (from 1):
    /// `base · 2^(number-1)`, capped, then jittered into its upper half.
    pub fn backoff(&self, number: u32, jitter: f64) -> Duration {
        doubling(self.base_delay, self.max_delay, number, jitter)
    }
}

/// `base · 2^(number-1)`, capped at `cap`, then jittered into its upper half.
fn doubling(base: Duration, cap: Duration, number: u32, jitter: f64) -> Duration {
    let exponent = number.saturating_sub(1).min(30);
    let full = base.saturating_mul(1u32 << exponent).min(cap);
    full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// Reads a `Retry-After` header: seconds (`120`) or an HTTP date
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), relative to `now`. A date in the past means now.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (when.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(method: &Method, number: u32) -> Attempt<'_> {
        Attempt {
            method,
            post_is_safe: false,
            replayable: true,
            number,
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn every_status_and_method() {
        let policy = RetryPolicy::default();
        let methods = [
            (Method::GET, true),
            (Method::HEAD, true),
            (Method::OPTIONS, true),
            (Method::PUT, true),
            (Method::DELETE, true),
            (Method::PATCH, true),
            (Method::POST, false),
            (Method::TRACE, false),
        ];
        for (method, idempotent) in &methods {
            for status in [
                200, 201, 302, 400, 401, 403, 404, 409, 422, 429, 500, 501, 502, 503, 504,
            ] {
                let retried = matches!(
                    policy.decide(attempt(method, 1), Outcome::Status(status, None), 0.0),
                    Decision::RetryAfter(_)
                );
                let expected = *idempotent && matches!(status, 429 | 502 | 503 | 504);
                assert_eq!(retried, expected, "{method} {status}");
            }
            let retried = policy.decide(attempt(method, 1), Outcome::ConnectionFailed, 0.0)
                != Decision::GiveUp;
            assert_eq!(retried, *idempotent, "{method} connection broke");
            assert_eq!(
                policy.decide(attempt(method, 1), Outcome::CannotConnect, 0.0),
                Decision::RetryAfter(Duration::from_millis(125)),
                "{method}: nothing was sent, so every method is retried"
            );
            assert_eq!(
                policy.decide(attempt(method, 1), Outcome::TimedOut, 0.0),
                Decision::GiveUp
            );
        }
    }

    #[test]
    fn post_only_when_marked_safe_and_streams_only_when_replayable() {
        let policy = RetryPolicy::default();
        let post = attempt(&Method::POST, 1);
        assert_eq!(
            policy.decide(post, Outcome::ConnectionFailed, 0.0),
            Decision::GiveUp,
            "a POST that may have arrived is not sent twice"
        );
        let safe_post = Attempt {
            post_is_safe: true,
            ..attempt(&Method::POST, 1)
        };
        assert_ne!(
            policy.decide(safe_post, Outcome::Status(503, None), 0.0),
            Decision::GiveUp
        );
        let stream = Attempt {
            replayable: false,
            ..attempt(&Method::PUT, 1)
        };
        assert_eq!(
            policy.decide(stream, Outcome::Status(503, None), 0.0),
            Decision::GiveUp
        );
    }

    #[test]
    fn attempts_are_bounded_and_can_be_switched_off() {
        let policy = RetryPolicy::default();
        let get = Method::GET;
        assert_ne!(
            policy.decide(attempt(&get, 7), Outcome::Status(503, None), 0.0),
            Decision::GiveUp
        );
        assert_eq!(
            policy.decide(attempt(&get, 8), Outcome::Status(503, None), 0.0),
            Decision::GiveUp
        );
        assert_eq!(
            RetryPolicy::none().decide(attempt(&get, 1), Outcome::Status(503, None), 0.0),
            Decision::GiveUp
        );
    }

    #[test]
    fn backoff_doubles_within_jitter_bounds_and_is_capped() {
        let policy = RetryPolicy::default();
        for number in 1..=12u32 {
            let full = Duration::from_secs(1 << (number - 1).min(20)).min(Duration::from_secs(60));
            assert_eq!(
                policy.backoff(number, 0.0),
                full / 2,
                "attempt {number}, no jitter"
            );
            assert_eq!(
                policy.backoff(number, 1.0),
                full,
                "attempt {number}, most jitter"
            );
            let middle = policy.backoff(number, 0.5);
            assert!(middle > full / 2 && middle < full, "attempt {number}");
        }
        assert_eq!(policy.backoff(u32::MAX, 1.0), Duration::from_secs(60));
    }

    #[test]
    fn retry_after_overrides_the_backoff_up_to_the_cap() {
        let policy = RetryPolicy::default();
        let get = Method::GET;
        let wait = |secs| {
            policy.decide(
                attempt(&get, 3),
                Outcome::Status(429, Some(Duration::from_secs(secs))),
                0.7,
            )
        };
        assert_eq!(wait(2), Decision::RetryAfter(Duration::from_secs(2)));
        assert_eq!(wait(0), Decision::RetryAfter(Duration::ZERO));
        assert_eq!(wait(3600), Decision::RetryAfter(Duration::from_secs(60)));
    }

    /// Runs the decision as the client's loop does against a port where nothing listens,
    /// each connect attempt taking `connect_time`; returns the waits.
    fn connect_waits(policy: &RetryPolicy, connect_time: Duration, jitter: f64) -> Vec<Duration> {
        let get = Method::GET;
        let mut waits = Vec::new();
        let mut elapsed = Duration::ZERO;
        for number in 1.. {
            elapsed += connect_time;
            let this = Attempt {
                elapsed,
                ..attempt(&get, number)
            };
            match policy.decide(this, Outcome::CannotConnect, jitter) {
                Decision::RetryAfter(wait) => {
                    waits.push(wait);
                    elapsed += wait;
                }
                Decision::GiveUp => break,
            }
        }
        waits
    }

    #[test]
    fn refused_connections_get_the_short_bounded_schedule() {
        let policy = RetryPolicy::default();
        let ms = Duration::from_millis;
        // Most jitter: 0.25, 0.5, 1, 2 s (3.75 s); the next, 4 s, would end past 5 s.
        assert_eq!(
            connect_waits(&policy, ms(1), 1.0),
            [ms(250), ms(500), ms(1000), ms(2000)]
        );
        // Least jitter: halves, so one more retry fits.
        assert_eq!(
            connect_waits(&policy, ms(1), 0.0),
            [ms(125), ms(250), ms(500), ms(1000), ms(2000)]
        );
        // Whatever the jitter and however slow each refusal, waits end within the budget.
        for connect_ms in [0, 1, 50, 400, 2000] {
            for jitter in [0.0, 0.3, 0.7, 0.99] {
                let waits = connect_waits(&policy, ms(connect_ms), jitter);
                let attempts = waits.len() as u32 + 1;
                let total: Duration = waits.iter().sum::<Duration>() + ms(connect_ms) * attempts;
                assert!(
                    total < policy.connect_budget + ms(connect_ms),
                    "{connect_ms} ms per attempt, jitter {jitter}: {total:?}"
                );
            }
        }
        // A connect attempt that alone uses the budget (a black-holed host) is not retried.
        assert!(connect_waits(&policy, Duration::from_secs(10), 0.5).is_empty());
        // Attempts stay bounded by max_attempts too.
        let few = RetryPolicy {
            max_attempts: 2,
            ..RetryPolicy::default()
        };
        assert_eq!(connect_waits(&few, ms(1), 1.0), [ms(250)]);
        assert!(connect_waits(&RetryPolicy::none(), ms(1), 1.0).is_empty());
    }

    #[test]
    fn busy_servers_keep_the_long_schedule() {
        let policy = RetryPolicy::default();
        let get = Method::GET;
        let waits: Vec<Decision> = (1..=8)
            .map(|n| policy.decide(attempt(&get, n), Outcome::Status(502, None), 1.0))
            .collect();
        let secs = |s| Decision::RetryAfter(Duration::from_secs(s));
        assert_eq!(
            waits,
            [
                secs(1),
                secs(2),
                secs(4),
                secs(8),
                secs(16),
                secs(32),
                secs(60),
                Decision::GiveUp
            ]
        );
        // The connect budget does not apply to busy replies, however long it has been.
        let late = Attempt {
            elapsed: Duration::from_secs(100),
            ..attempt(&get, 3)
        };
        for status in [429, 502, 503, 504] {
            assert_eq!(
                policy.decide(late, Outcome::Status(status, None), 1.0),
                secs(4),
                "{status}"
            );
        }
    }

    #[test]
    fn outcomes_read_as_reasons() {
        assert_eq!(Outcome::Status(503, None).to_string(), "status 503");
        assert_eq!(
            Outcome::Status(429, Some(Duration::from_secs(2))).to_string(),
            "status 429 with Retry-After 2 s"
        );
        assert_eq!(Outcome::CannotConnect.to_string(), "cannot connect");
        assert_eq!(Outcome::ConnectionFailed.to_string(), "connection broke");
    }

    #[test]
    fn retry_after_forms() {
        let now = DateTime::parse_from_rfc3339("1994-11-06T08:49:30Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
