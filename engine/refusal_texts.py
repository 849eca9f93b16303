"""The Chinese of what the engine refuses at run time (``engine.runtime``, the worklist, users, access,
messages, signals, external tasks, forms and values): ``REFUSALS``, (English template, Chinese) pairs
for ``engine.error_texts``, and ``WORDS``, the English words a message carries as values (statuses).

``{name}`` is copied as written (ids, names, code); ``{w_name}`` is looked up in ``WORDS``; ``{m_name}``
is a message translated in turn. Keep each English template exactly as the raise site writes it.
"""
from __future__ import annotations

WORDS = {
    "completed": "已完成", "cancelled": "已取消", "open": "待处理", "claimed": "已领取", "running": "运行中",
    "failed": "已失败", "resolved": "已解决", "retrying": "重试中", "waiting": "等待中", "fired": "已触发",
    "compensation boundary event": "补偿边界事件", "compensation event subprocess": "补偿事件子流程",
    "compensation throw event": "补偿抛出事件", "compensation end event": "补偿结束事件",
    "cycle": "周期", "duration": "时长", "date": "日期", "Script": "脚本", "Condition": "条件",
    "Expression": "表达式", "script": "脚本", "condition": "条件", "expression": "表达式",
}

REFUSALS: list[tuple[str, str]] = [
    # tasks and the worklist
    ("Task {id} does not exist.", "任务 {id} 不存在。"),
    ("Task {id} is already {w_status}; it cannot be completed.", "任务 {id} 已是「{w_status}」状态，不能再办理。"),
    ("Task {id} is already {w_status}; it cannot be claimed.", "任务 {id} 已是「{w_status}」状态，不能再领取。"),
    ("Task {id} is claimed by {user}; ask them to unclaim it or a supervisor to reassign it.",
     "任务 {id} 已被 {user} 领取；请让其退回任务，或请主管改派。"),
    ("Task {id} is assigned to {user} only.", "任务 {id} 只分配给 {user}。"),
    ("Task {id} is for role '{role}', which you do not have.", "任务 {id} 属于角色「{role}」，您没有该角色。"),
    ("Task {id} is no longer waiting in its instance; reload the worklist.", "任务 {id} 已不在流程实例中等待；请刷新待办列表。"),
    ("Task {id} was completed or claimed by someone else just now; reload it.", "任务 {id} 刚被他人办理或领取；请刷新后查看。"),
    ("Task {id} is already claimed by you.", "任务 {id} 已由您领取。"),
    ("Task {id} is {w_status}, not claimed.", "任务 {id} 是「{w_status}」状态，未被领取。"),
    ("Task {id} is claimed by {user}; only they, a supervisor or an admin may unclaim it.",
     "任务 {id} 已被 {user} 领取；只有其本人、主管或管理员可以退回。"),
    ("Only a supervisor or an admin may reassign tasks.", "只有主管或管理员可以改派任务。"),
    ("Task {id} is {w_status}; only open or claimed tasks can be reassigned.",
     "任务 {id} 是「{w_status}」状态；只有待处理或已领取的任务可以改派。"),
    ("User '{user}' does not exist.", "用户「{user}」不存在。"),
    ("{user} does not have role '{role}'; give them the role first.", "{user} 没有角色「{role}」；请先授予该角色。"),
    ("scope must be one of {values}.", "scope 必须是以下之一：{values}。"),
    ("status must be one of {values}.", "status 必须是以下之一：{values}。"),
    # instances
    ("Give a reason for cancelling the instance.", "请填写取消流程实例的原因。"),
    ("Instance {id} does not exist.", "流程实例 {id} 不存在。"),
    ("Only an admin, a supervisor or the user who started an instance may cancel it.",
     "只有管理员、主管或发起人可以取消流程实例。"),
    ("Instance {id} is {w_status}; only running instances can be cancelled.",
     "流程实例 {id} 是「{w_status}」状态；只有运行中的实例可以取消。"),
    ("Instance {id} is {w_status}; only a running instance can be signalled.",
     "流程实例 {id} 是「{w_status}」状态；只有运行中的实例可以接收信号。"),
    ("Instance {id} was changed by someone else; reload and try again.", "流程实例 {id} 已被他人修改；请刷新后重试。"),
    ("Instance {id} could not be saved ({detail}); nothing was changed. Report this with the process and the step.",
     "流程实例 {id} 无法保存（{detail}）；未做任何更改。请连同流程和步骤报告此问题。"),
    ("Instance {id} is not one you started, have a task in or work in a lane of; ask a supervisor, who sees every "
     "instance.", "流程实例 {id} 不是您发起的，您在其中也没有任务或所属泳道；请联系能查看所有实例的主管。"),
    ("You may not start '{process}': it may be started by {who}, admin or integrator; ask an admin for one of "
     "these roles.", "您不能发起「{process}」：可由 {who}、admin 或 integrator 发起；请向管理员申请其中一个角色。"),
    ("The start data must be a JSON object.", "启动数据必须是 JSON 对象。"),
    ("The process stopped at {where}: {m_reason}. Fix the cause (data, connector or model), then retry the incident.",
     "流程停在 {where}：{m_reason}。请排除原因（数据、连接器或模型）后重试该异常。"),
    ("Messages thrown in answer to messages went {depth} deep without coming to rest; check the processes that send "
     "them to each other.", "消息相互触发已达 {depth} 层仍未停止；请检查互相发送消息的流程。"),
    # incidents
    ("Say how the incident was resolved.", "请说明异常是如何解决的。"),
    ("Only a supervisor or an admin may resolve incidents.", "只有主管或管理员可以解决异常。"),
    ("Only a supervisor or an admin may retry incidents.", "只有主管或管理员可以重试异常。"),
    ("Incident {id} is {w_status}; nothing to retry.", "异常 {id} 是「{w_status}」状态，无需重试。"),
    ("Incident {id} is already resolved.", "异常 {id} 已解决。"),
    ("Incident {id} does not exist, or it belongs to an instance you may not see; check the number in your list of "
     "incidents.", "异常 {id} 不存在，或属于您无权查看的流程实例；请核对异常列表中的编号。"),
    # signals, messages, external tasks
    ("Only integrators and admins may signal an instance: do it with an integrator's account or token (an admin can "
     "give your account the integrator role).",
     "只有集成用户和管理员可以向流程实例发信号：请使用集成用户的账号或令牌（管理员可为您的账号授予 integrator 角色）。"),
    ("A signal needs the 'element_id' of the receive task to move on.", "信号需要接收任务的 'element_id' 才能继续。"),
    ("'data' must be an object.", "'data' 必须是对象。"),
    ("A message needs a 'name'.", "消息需要 'name'。"),
    ("'correlation' must be an object such as {example}.", "'correlation' 必须是对象，例如 {example}。"),
    ("A signal needs a 'name'.", "信号需要 'name'。"),
    ("'variables' must be an object such as {example}.", "'variables' 必须是对象，例如 {example}。"),
    ("Only admins, auditors, supervisors and integrators may list messages.", "只有管理员、审计员、主管和集成用户可以查看消息列表。"),
    ("Only integrators and admins may work on external tasks: run the worker with an integrator's account or token.",
     "只有集成用户和管理员可以处理外部任务：请用集成用户的账号或令牌运行工作程序。"),
    ("External task {id} ('{element}') no longer waits (its instance moved on or was changed); nothing was recorded. "
     "Fetch and lock again.", "外部任务 {id}（'{element}'）已不再等待（其流程实例已继续或被修改）；未记录任何内容。请重新获取并锁定。"),
    ("External task {id} does not exist (it was completed, cancelled or interrupted by a boundary event); fetch and "
     "lock again.", "外部任务 {id} 不存在（已完成、已取消或被边界事件中断）；请重新获取并锁定。"),
    ("External task {id} is not locked by worker '{worker}': fetch and lock it first.",
     "外部任务 {id} 未被工作程序「{worker}」锁定：请先获取并锁定。"),
    ("External task {id} is locked by another worker ('{worker}'); only the worker holding the lock may report on "
     "it. Fetch and lock other tasks.", "外部任务 {id} 已被另一工作程序（'{worker}'）锁定；只有持有锁的工作程序可以报告结果。请获取并锁定其他任务。"),
    ("The lock of worker '{worker}' on external task {id} has expired; fetch and lock the task again.",
     "工作程序「{worker}」对外部任务 {id} 的锁已过期；请重新获取并锁定该任务。"),
    # users and tokens
    ("User '{user}' does not exist; create it with `liucheng user add`.", "用户「{user}」不存在；请用 `liucheng user add` 创建。"),
    ("A username is 1-64 characters without spaces.", "用户名为 1–64 个字符，不能含空格。"),
    ("'{user}' is the engine's own name in the history; pick another username.", "「{user}」是引擎在历史记录中的名称；请换一个用户名。"),
    ("Unknown role(s) {roles}; use one of {known}.", "未知角色 {roles}；请使用以下之一：{known}。"),
    ("User '{user}' already exists; pick another name.", "用户「{user}」已存在；请换一个名称。"),
    ("Wrong username or password.", "用户名或密码错误。"),
    ("A token lasts 1 to {most} days; {days} is not accepted.", "令牌有效期为 1 至 {most} 天；不接受 {days}。"),
    ("Unknown token;", "未知的令牌；"),
    ("This token was revoked at {at} UTC;", "此令牌已于 {at}（UTC）吊销；"),
    ("This token expired at {at} UTC;", "此令牌已于 {at}（UTC）过期；"),
    ("get a new one with POST /api/v1/tokens (HTTP Basic) or `liucheng user token NAME`.",
     "请用 POST /api/v1/tokens（HTTP Basic）或 `liucheng user token NAME` 获取新令牌。"),
    ("The user of this token is deactivated; ask an administrator.", "此令牌的用户已停用；请联系管理员。"),
    ("You have no token {id}; list yours with GET /api/v1/tokens (or `liucheng user tokens NAME`).",
     "您没有令牌 {id}；可用 GET /api/v1/tokens（或 `liucheng user tokens NAME`）列出您的令牌。"),
    ("Only an admin or a designer may deploy definitions.", "只有管理员或流程设计人员可以部署流程定义。"),
    # forms and values
    ("The data must be a JSON object of field values.", "数据必须是由字段值组成的 JSON 对象。"),
    ("The data does not fit form '{form}': correct the fields listed in details.",
     "数据不符合表单「{form}」：请更正所列字段。"),
    ("{field} cannot be stored: {m_problem}.", "{field} 无法保存：{m_problem}。"),
    ("This step has no form: send variables as {example} with names that are identifiers not starting with _, at "
     "most {most}.", "此步骤没有表单：请以 {example} 的形式发送变量，变量名须为不以 _ 开头的标识符，最多 {most} 个。"),
    ("Not an object.", "不是对象。"),
    ("Not a variable name: use letters, digits and _ (not first), e.g. approved.",
     "不是变量名：请使用字母、数字和 _（不能以 _ 开头），例如 approved。"),
    ("At most {most} variables at once; send fewer.", "一次最多 {most} 个变量；请减少数量。"),
    ("Must be within 64 bits (-2^63 .. 2^63-1).", "必须在 64 位范围内（-2^63 .. 2^63-1）。"),
    ("Required when {condition}.", "当 {condition} 时必填。"),
    ("Must be a time of day, HH:MM.", "必须是一天中的时间，格式 HH:MM。"),
    ("Does not match the pattern {pattern}.", "不符合格式 {pattern}。"),
    ("Missing data for required field.", "必填字段缺少数据。"),
    ("Unknown field.", "未知字段。"),
    ("Field may not be null.", "字段不能为空。"),
    ("Not a valid integer.", "不是有效的整数。"),
    ("Not a valid number.", "不是有效的数字。"),
    ("Not a valid string.", "不是有效的文本。"),
    ("Not a valid boolean.", "不是有效的布尔值。"),
    ("Not a valid date.", "不是有效的日期。"),
    ("Not a valid datetime.", "不是有效的日期时间。"),
    ("Must be one of: {values}.", "必须是以下之一：{values}。"),
    ("Must be greater than or equal to {low} and less than or equal to {high}.", "必须大于等于 {low} 且小于等于 {high}。"),
    ("Must be greater than or equal to {low}.", "必须大于等于 {low}。"),
    ("Must be less than or equal to {high}.", "必须小于等于 {high}。"),
    ("Shorter than minimum length {low}.", "短于最小长度 {low}。"),
    ("Longer than maximum length {high}.", "超过最大长度 {high}。"),
    ("Length must be between {low} and {high}.", "长度必须在 {low} 与 {high} 之间。"),
    # scripts and conditions (the sandbox)
    ("{w_kind} {q_source} is refused: {m_errors}. Fix the syntax; names starting with '_', import, print, try, with "
     "and class are not allowed in the sandbox.", "{w_kind} {q_source} 被拒绝：{m_errors}。请修正语法；沙箱中不允许以 '_' 开头的名称以及 "
     "import、print、try、with 和 class。"),
    ("Line {line}: {m_what} is not allowed in the sandbox", "第 {line} 行：沙箱中不允许 {m_what}"),
    ("Line 1: it is nested too deep to compile (operators, attributes, brackets or conditionals inside one "
     "another); split it into simpler expressions", "第 1 行：嵌套过深无法编译（运算符、属性、括号或条件层层嵌套）；请拆成更简单的表达式"),
    ("try/except (a script could catch the sandbox's own limit errors; check values with if instead, and give a "
     "variable that may be missing a value in an earlier task)", "try/except（脚本可能捕获沙箱自身的限制错误；请改用 if 检查值，并在前面的任务中为可能缺失的变量赋值）"),
    ("import (use Decimal, date, datetime, timedelta directly)", "import（请直接使用 Decimal、date、datetime、timedelta）"),
    ("print (assign the value to a variable instead)", "print（请改为把值赋给变量）"),
    ("{w_kind} {q_source} failed on line {line}: {error}. {m_hint}", "{w_kind} {q_source} 在第 {line} 行出错：{error}。{m_hint}"),
    ("{w_kind} {q_source} failed: {error}. {m_hint}", "{w_kind} {q_source} 出错：{error}。{m_hint}"),
    ("'{name}' is not available in the sandbox; use plain expressions.", "沙箱中没有 '{name}'；请使用普通表达式。"),
    ("Did you mean '{close}'? Otherwise set '{name}' in an earlier task.", "您是指 '{close}' 吗？否则请在前面的任务中设置 '{name}'。"),
    ("Set '{name}' in an earlier task or form, or fix the spelling.", "请在前面的任务或表单中设置 '{name}'，或更正拼写。"),
    ("Check the divisor before dividing (e.g. 'x / y if y else 0').", "除法前请检查除数（例如 'x / y if y else 0'）。"),
    ("Only public attributes of data values can be used; names starting with '_' are refused.",
     "只能使用数据值的公开属性；以 '_' 开头的名称会被拒绝。"),
    ("Fix the script or the task data it uses.", "请修正脚本或其使用的任务数据。"),
    ("{w_kind} ran longer than {seconds} s and was stopped. Look for an endless loop or move heavy work to a "
     "service task.", "{w_kind} 运行超过 {seconds} 秒，已被停止。请检查是否有死循环，或把繁重的工作移到服务任务。"),
    ("{w_kind} ran longer than {seconds} s and was stopped inside one operation on very large values (numbers, "
     "strings or lists). Use smaller values or move heavy work to a service task.",
     "{w_kind} 运行超过 {seconds} 秒，在对很大的值（数字、字符串或列表）的一次运算中被停止。请使用较小的值，或把繁重的工作移到服务任务。"),
    ("{w_kind} {q_source} needed more than {mb} MB of memory and was stopped. Build smaller values (long strings, big "
     "numbers, large lists) or move heavy work to a service task.", "{w_kind} {q_source} 需要超过 {mb} MB 内存，已被停止。请构造较小的值（长字符串、大数字、大列表），或把繁重的工作移到服务任务。"),
    ("range() of {size} items exceeds the sandbox limit of {most}; iterate over a smaller range or over the data "
     "itself.", "range() 的 {size} 项超过沙箱上限 {most}；请遍历更小的范围或直接遍历数据。"),
    ("'{symbol}' would build an integer of about {bits} bits, above the sandbox limit of {most}; use smaller numbers "
     "or Decimal.", "'{symbol}' 会产生约 {bits} 位的整数，超过沙箱上限 {most}；请使用较小的数字或 Decimal。"),
    ("Repeating a sequence to {count} items exceeds the sandbox limit of {most}; build a smaller value.",
     "把序列重复到 {count} 项超过沙箱上限 {most}；请构造较小的值。"),
    ("The script or expression must be text; enter it as a string.", "脚本或表达式必须是文本；请以字符串输入。"),
    # the API's own refusals (request shape)
    ("Someone else changed this at the same moment; reload and try again.", "有人在同一时刻修改了此内容；请刷新后重试。"),
    ("Something went wrong on the server; the error was logged. Try again, and report it if it persists.",
     "服务器出错，错误已记录。请重试；如果问题持续，请报告。"),
    ("A value in the request cannot be stored (out of range or not valid text); nothing was changed. Correct it and "
     "try again.", "请求中的某个值无法保存（超出范围或不是有效文本）；未做任何更改。请更正后重试。"),
]
