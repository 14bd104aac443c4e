//! CEL: Celery tasks. Tasks are found from the text of their decorators (`@shared_task`,
//! `@app.task(...)`) and of `Task` base classes, then only those functions are looked at.

pub mod unbounded_task_retry;
