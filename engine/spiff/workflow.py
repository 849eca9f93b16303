"""The old module path of ``state``, ``pruning``, ``tasks`` and ``steps``: kept only until every
caller outside the adapter uses ``engine.spiff.<name>``; then it goes."""
from engine.spiff.pruning import prune  # noqa: F401
from engine.spiff.state import (SERIALIZER, dump_spec, dump_state, load_spec, load_state,  # noqa: F401
                                new_workflow)
from engine.spiff.steps import (FailedStep, Listener, Step, cancel, complete, failed_step,  # noqa: F401
                                retry_failed, run)
from engine.spiff.tasks import (DONE, FRONT, ReadyTask, chosen_targets, element_of, failed_task_ids,  # noqa: F401
                                find_task, is_completed, memo, process_data, ready_user_tasks, task_kind)
