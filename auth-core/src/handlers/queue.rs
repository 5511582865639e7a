//! The off-path queue: post runs that neither change the response nor
//! abort on error wait here for a worker, so a slow webhook or mail server
//! never delays a response.
//!
//! One job per event holds that event's queued runs, which run in their
//! binding order; jobs of different events run concurrently, at most
//! `workers` at a time. A worker takes a job off the queue only when it
//! has room to run it, so the queue's capacity really bounds what waits.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::{Semaphore, mpsc};

use super::binding::CompiledBinding;
use super::dispatcher::Runner;
use super::subject::Subject;
use crate::events::AuthEvent;
use crate::store::HandlerPosition;

/// One queued binding and the response it sees.
pub(crate) struct QueuedRun {
    pub(crate) binding: Arc<CompiledBinding>,
    pub(crate) response: Arc<Value>,
}

/// The queued runs of one event.
pub(crate) struct Job {
    pub(crate) event: AuthEvent,
    pub(crate) subject: Arc<Subject>,
    pub(crate) runs: Vec<QueuedRun>,
}

/// Marks the job's event done however the job ends (a panicking action
/// included), so `wait_idle` never waits forever.
struct Done(Arc<Runner>);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.done();
    }
}

/// Spawns the task that hands jobs to at most `workers` concurrent runs.
/// It ends when the dispatcher (the sender) is gone and the queue is
/// empty.
pub(crate) fn spawn_workers(runner: Arc<Runner>, mut jobs: mpsc::Receiver<Job>, workers: usize) {
    let slots = Arc::new(Semaphore::new(workers));
    tokio::spawn(async move {
        loop {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                break;
            };
            let Some(job) = jobs.recv().await else {
                break;
            };
            let runner = runner.clone();
            tokio::spawn(async move {
                let _done = Done(runner.clone());
                run_job(&runner, job).await;
                drop(slot);
            });
        }
    });
}

async fn run_job(runner: &Runner, job: Job) {
    for run in &job.runs {
        let b = &run.binding;
        if !b
            .conditions
            .hold(&job.event, &job.subject, runner.now())
            .await
        {
            continue;
        }
        // The outcome is audited by `run`; off the path nothing else can
        // be done with it.
        let _ = runner
            .run(
                b,
                &job.event,
                HandlerPosition::Post,
                Some(&run.response),
                &job.subject,
                true,
            )
            .await;
    }
}
