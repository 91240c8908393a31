//! Sentry adapter (to be written).

use super::{Context, Exchange, Step};

pub fn plan(_ctx: &Context<'_>, _done: &[Exchange]) -> Step {
    unimplemented!("sentry adapter")
}
