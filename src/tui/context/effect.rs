//! What a screen asks the root to do after a key or a message: the closed set of effects
//! the root knows how to run. A screen's effects carry its own message type `M` (its tasks
//! answer with it) and its own popup type `P`; the root maps both into its own.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::screen_id::ScreenId;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Sends progress messages from inside a running task; each is applied like a result.
pub struct Progress<M>(Arc<dyn Fn(M) + Send + Sync>);

impl<M> Clone for Progress<M> {
    fn clone(&self) -> Self {
        Progress(self.0.clone())
    }
}

impl<M: 'static> Progress<M> {
    pub fn new(send: impl Fn(M) + Send + Sync + 'static) -> Progress<M> {
        Progress(Arc::new(send))
    }

    pub fn send(&self, message: M) {
        (self.0)(message)
    }

    /// A sender of `N`s that arrive here as `M`s.
    pub fn map<N: 'static>(self, wrap: impl Fn(N) -> M + Send + Sync + 'static) -> Progress<N> {
        Progress::new(move |n| self.send(wrap(n)))
    }
}

/// Background work that answers with one message (and maybe progress messages before it).
pub struct Task<M> {
    pub name: &'static str,
    pub work: Box<dyn FnOnce(Progress<M>) -> BoxFuture<M> + Send>,
}

impl<M: Send + 'static> Task<M> {
    pub fn new(name: &'static str, work: impl Future<Output = M> + Send + 'static) -> Task<M> {
        Task {
            name,
            work: Box::new(move |_| Box::pin(work)),
        }
    }

    /// Work that reports progress through the sender it is given.
    pub fn with_progress<F, W>(name: &'static str, work: W) -> Task<M>
    where
        W: FnOnce(Progress<M>) -> F + Send + 'static,
        F: Future<Output = M> + Send + 'static,
    {
        Task {
            name,
            work: Box::new(move |progress| Box::pin(work(progress))),
        }
    }

    /// The same work, its messages wrapped as `N`s.
    pub fn map<N: Send + 'static>(self, wrap: fn(M) -> N) -> Task<N> {
        let work = self.work;
        Task {
            name: self.name,
            work: Box::new(move |progress: Progress<N>| {
                let inner = work(progress.map(wrap));
                Box::pin(async move { wrap(inner.await) })
            }),
        }
    }
}

/// Loads another screen's data depends on (the root asks those screens to load).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refresh {
    /// Everything the Overview shows: census, audit feed, jobs, key registry, health.
    All,
    /// The audit feed (the log changed: a reveal, a retirement).
    AuditFeed,
}

/// What the root does for a screen.
pub enum Effect<M, P> {
    None,
    /// Run work in the background; its message comes back to the screen.
    Spawn(Task<M>),
    /// Open one of the screen's popups (replacing any other).
    Popup(P),
    ClosePopup,
    /// The message line: a notice replaces an error and the other way round.
    Notice(String),
    Error(String),
    /// Clears the message line (esc with nothing else to close).
    ClearMessage,
    Switch(ScreenId),
    Refresh(Refresh),
    /// Put this text on the operator's clipboard (OSC 52: the terminal does it, so it works
    /// over SSH too).
    Clipboard(String),
    /// The Data screen at a model's table, on the record `record` names when given.
    OpenModel {
        model: String,
        record: Option<String>,
    },
    Quit,
    /// Several, in order.
    Batch(Vec<Effect<M, P>>),
}

impl<M: Send + 'static, P> Effect<M, P> {
    /// `self` then `next`.
    pub fn then(self, next: Effect<M, P>) -> Effect<M, P> {
        match (self, next) {
            (Effect::None, next) => next,
            (first, Effect::None) => first,
            (Effect::Batch(mut all), next) => {
                all.push(next);
                Effect::Batch(all)
            }
            (first, next) => Effect::Batch(vec![first, next]),
        }
    }

    pub fn spawn(name: &'static str, work: impl Future<Output = M> + Send + 'static) -> Self {
        Effect::Spawn(Task::new(name, work))
    }

    pub fn notice(text: impl Into<String>) -> Self {
        Effect::Notice(text.into())
    }

    pub fn error(text: impl Into<String>) -> Self {
        Effect::Error(text.into())
    }

    /// The same effect in the root's terms.
    pub fn map<N: Send + 'static, Q>(self, message: fn(M) -> N, popup: fn(P) -> Q) -> Effect<N, Q> {
        match self {
            Effect::None => Effect::None,
            Effect::Spawn(task) => Effect::Spawn(task.map(message)),
            Effect::Popup(p) => Effect::Popup(popup(p)),
            Effect::ClosePopup => Effect::ClosePopup,
            Effect::Notice(t) => Effect::Notice(t),
            Effect::Error(t) => Effect::Error(t),
            Effect::ClearMessage => Effect::ClearMessage,
            Effect::Switch(s) => Effect::Switch(s),
            Effect::Refresh(r) => Effect::Refresh(r),
            Effect::Clipboard(t) => Effect::Clipboard(t),
            Effect::OpenModel { model, record } => Effect::OpenModel { model, record },
            Effect::Quit => Effect::Quit,
            Effect::Batch(all) => {
                Effect::Batch(all.into_iter().map(|e| e.map(message, popup)).collect())
            }
        }
    }
}
