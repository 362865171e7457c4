"""Running a job: the plan, the engine that orchestrates it, the worker that derives outputs."""
