"""The Chinese of what a deployment finds: the problems that refuse a BPMN or form file and the notes that
only inform (``engine.bpmn``, ``engine.juel``, ``engine.timer_cycles``, ``engine.definitions``,
``engine.forms``, ``engine.form_schema``): ``PROBLEMS``, (English template, Chinese) pairs for
``engine.error_texts``. Element names, ids, attributes, expressions and file names stay as written.
"""
from __future__ import annotations

JUEL_FIX = ("服务任务改为外部任务（camunda:type=\"external\" camunda:topic=\"<topic>\"，由工作程序通过外部任务 API 完成）"
            "或在 engine/connectors 中注册连接器")

PROBLEMS: list[tuple[str, str]] = [
    # the document
    ("No BPMN file found: give .bpmn files or a directory holding them.", "未找到 BPMN 文件：请提供 .bpmn 文件或包含它们的目录。"),
    ("Not well-formed XML: {detail}. Fix the XML syntax (export the diagram again from the modeler).",
     "XML 格式错误：{detail}。请修正 XML 语法（从建模工具重新导出流程图）。"),
    ("Not a BPMN 2.0 document: the root element must be bpmn:definitions in the namespace "
     "http://www.omg.org/spec/BPMN/20100524/MODEL.",
     "不是 BPMN 2.0 文档：根元素必须是命名空间 http://www.omg.org/spec/BPMN/20100524/MODEL 中的 bpmn:definitions。"),
    ("No executable process: set isExecutable=\"true\" on the process to run (Camunda Modeler: the 'Executable' "
     "checkbox of the process).", "没有可执行的流程：请在要运行的流程上设置 isExecutable=\"true\"（Camunda Modeler：流程的 'Executable' 复选框）。"),
    ("SpiffWorkflow cannot read this model ({detail}). Simplify the construct it names or remove it, then deploy "
     "again.", "SpiffWorkflow 无法读取此模型（{detail}）。请简化或删除其指出的结构，然后重新部署。"),
    ("Element '{element}', attribute '{attribute}': {m_detail}", "元素 '{element}' 的属性 '{attribute}'：{m_detail}"),
    ("Element '{element}': {m_detail}", "元素 '{element}'：{m_detail}"),
    ("The attribute '{name}' is not allowed.", "不允许属性 '{name}'。"),
    ("This element is not expected.", "此处不应出现该元素。"),
    ("This element is not expected. Expected is {expected}.", "此处不应出现该元素。应为 {expected}。"),
    ("The attribute '{name}' is required but missing.", "缺少必需的属性 '{name}'。"),
    ("Fix the element so the file validates against the BPMN 2.0 schema.", "请修正该元素，使文件符合 BPMN 2.0 模式。"),
    ("Correct the element and deploy again.", "请修正该元素后重新部署。"),
    ("Service tasks must name a registered connector.", "服务任务必须指定已注册的连接器。"),
    ("The id '{id}' is used twice (lines {first} and {second}); ids must be unique, as in Camunda 7: delete this "
     "{kind} if it repeats the first one, or give it another id.",
     "id '{id}' 被使用了两次（第 {first} 行和第 {second} 行）；与 Camunda 7 一样，id 必须唯一：如果此 {kind} 与第一个重复请删除，否则请换一个 id。"),
    ("Process id '{id}' is also defined in {file}; give each process its own id.", "流程 id '{id}' 也在 {file} 中定义；请为每个流程使用不同的 id。"),
    ("{path} does not exist: give a BPMN file, a form file or a directory.", "{path} 不存在：请提供 BPMN 文件、表单文件或目录。"),
    ("No such file or directory: give an existing BPMN file, form file or directory.", "没有该文件或目录：请提供已存在的 BPMN 文件、表单文件或目录。"),
    ("Default role '{role}' is not a known role: give one of {roles} (or add the role first).",
     "默认角色 '{role}' 不是已知角色：请使用以下之一：{roles}（或先添加该角色）。"),
    ("Default role '{role}' is not a known role.", "默认角色 '{role}' 不是已知角色。"),
    ("No process '{id}' is deployed; deploy it with `liucheng deploy`.", "未部署流程 '{id}'；请用 `liucheng deploy` 部署。"),
    ("No version {version} of process '{id}' is deployed; deploy it with `liucheng deploy`.",
     "未部署流程 '{id}' 的第 {version} 版；请用 `liucheng deploy` 部署。"),
    ("Definition {id} does not exist.", "流程定义 {id} 不存在。"),
    ("Cannot deploy {process}: [{element}] {m_detail}", "无法部署 {process}：[{element}] {m_detail}"),
    ("This call activity calls process '{id}' of its own deployment (binding deployment), but no file of this "
     "deployment holds it: deploy the file of '{id2}' together with this one, or use the binding latest.",
     "此调用活动调用本次部署中的流程 '{id}'（binding deployment），但本次部署没有文件包含它：请把 '{id2}' 的文件一起部署，或使用 binding latest。"),
    ("This call activity calls version {version} of process '{id}', which this deployment makes version {made}: "
     "correct calledElementVersion.", "此调用活动调用流程 '{id}' 的第 {version} 版，而本次部署生成的是第 {made} 版：请更正 calledElementVersion。"),
    ("This call activity calls version {version} of process '{id}', which is not deployed (deployed versions: "
     "{versions}): correct calledElementVersion or deploy that process.",
     "此调用活动调用流程 '{id}' 的第 {version} 版，该版本未部署（已部署的版本：{versions}）：请更正 calledElementVersion 或部署该流程。"),
    # elements Liucheng does not run
    ("Business rule task '{name}' evaluates the DMN decision '{ref}', but Liucheng does not evaluate DMN decisions: "
     "replace it by a script task that computes the result in Python (one if/elif per rule of the decision table), "
     "or by an external task (a service task with camunda:type=\"external\" camunda:topic=\"<topic>\") whose worker "
     "evaluates the decision.", "业务规则任务 '{name}' 调用 DMN 决策 '{ref}'，但流程引擎不执行 DMN 决策：请改为用 Python 计算结果的脚本任务"
     "（决策表每条规则写一个 if/elif），或改为外部任务（camunda:type=\"external\" camunda:topic=\"<topic>\" 的服务任务），由其工作程序执行决策。"),
    ("Business rule task '{name}' names no DMN decision ({attribute} is missing), but Liucheng does not evaluate DMN "
     "decisions: replace it by a script task that computes the result in Python (one if/elif per rule of the "
     "decision table), or by an external task (a service task with camunda:type=\"external\" "
     "camunda:topic=\"<topic>\") whose worker evaluates the decision.",
     "业务规则任务 '{name}' 未指定 DMN 决策（缺少 {attribute}），且流程引擎不执行 DMN 决策：请改为用 Python 计算结果的脚本任务"
     "（决策表每条规则写一个 if/elif），或改为外部任务（camunda:type=\"external\" camunda:topic=\"<topic>\" 的服务任务），由其工作程序执行决策。"),
    ("This {w_kind} cannot run: the engine (SpiffWorkflow 3.2) does not support compensation. Remove it and model the "
     "undo work as an explicit path (e.g. an error boundary event or a gateway leading to the undo task).",
     "此{w_kind}无法运行：引擎（SpiffWorkflow 3.2）不支持补偿。请删除它，并把撤销工作建模为明确的路径（例如错误边界事件，或通往撤销任务的网关）。"),
    ("This call activity names no process: set calledElement to the id of the process to call (a process in this "
     "file or a deployed one).", "此调用活动未指定流程：请把 calledElement 设为要调用的流程 id（本文件中的或已部署的流程）。"),
    ("calledElement=\"{written}\" is an expression; Liucheng calls a process named by its id: write the id, or "
     "choose among processes with a gateway and one call activity per process.",
     "calledElement=\"{written}\" 是表达式；流程引擎按 id 调用流程：请写流程 id，或用网关在多个流程间选择，每个流程一个调用活动。"),
    ("{binding}=\"{value}\" is not supported: use latest (the default), deployment or version.",
     "不支持 {binding}=\"{value}\"：请使用 latest（默认）、deployment 或 version。"),
    ("{binding}=\"version\" needs the version to call: add {attribute}=\"<number>\".", "{binding}=\"version\" 需要指定调用的版本：请添加 {attribute}=\"<number>\"。"),
    ("{attribute}=\"{written}\" is not a number of days: write whole days such as 180, or P180D as Camunda 7 reads "
     "it, or remove it to keep the history as LIUCHENG_HISTORY_TTL_DAYS says.",
     "{attribute}=\"{written}\" 不是天数：请写整数天数，例如 180，或按 Camunda 7 的写法写 P180D；也可删除该属性，按 "
     "LIUCHENG_HISTORY_TTL_DAYS 的设置保留历史。"),
    ("{attribute}=\"{written}\" is more than {most} days (100 years): write at most {most2}, or remove it to keep the "
     "history as LIUCHENG_HISTORY_TTL_DAYS says (unset: forever).",
     "{attribute}=\"{written}\" 超过 {most} 天（100 年）：请最多写 {most2} 天；也可删除该属性，按 LIUCHENG_HISTORY_TTL_DAYS 的设置"
     "保留历史（未设置时永久保留）。"),
    ("This {kind} mapping has no target: add target=\"<variable>\" (or variables=\"all\").",
     "此 {kind} 映射没有目标：请添加 target=\"<variable>\"（或 variables=\"all\"）。"),
    ("Process '{id}', which this call activity calls, is neither in this deployment nor deployed yet: deploy it "
     "before an instance reaches this call activity (an instance that gets there first stops with an incident, to "
     "retry once it is deployed).", "此调用活动调用的流程 '{id}' 既不在本次部署中，也尚未部署：请在实例到达此调用活动之前部署它（先到达的实例会因故障停止，部署后可重试）。"),
    ("Script format '{fmt}' is not supported: Script task '{name}' is written in {fmt2}; Liucheng runs Python "
     "scripts only. Rewrite the script in Python and set scriptFormat=\"python\".",
     "不支持脚本格式 '{fmt}'：脚本任务 '{name}' 用 {fmt2} 编写；流程引擎只运行 Python 脚本。请用 Python 重写脚本，并设置 scriptFormat=\"python\"。"),
    ("Script task '{name}' loads its script from {attribute}=\"{resource}\", which Liucheng does not read: put the "
     "Python script inline, in <bpmn:script>.", "脚本任务 '{name}' 从 {attribute}=\"{resource}\" 加载脚本，流程引擎不读取外部脚本：请把 Python 脚本直接写在 <bpmn:script> 中。"),
    ("Script is not allowed: {m_detail}", "脚本不被允许：{m_detail}"),
    ("The assignee '{written}' is a list; a task has one assignee, so these users are its candidate users (any of "
     "them may claim it). Write them in candidateUsers to say so.",
     "处理人 '{written}' 是一个列表；任务只有一个处理人，因此这些用户作为候选用户（任何一人都可认领）。请写在 candidateUsers 中以明确表示。"),
    ("Lane '{name}' is not a role", "泳道 '{name}' 不是角色"),
    ("Lane {id} has no name", "泳道 {id} 没有名称"),
    ("{m_label}, so it does not decide who gets its tasks (as in Camunda): {m_where}. Name the lane after a role, or "
     "give the tasks candidateGroups or an assignee.", "{m_label}，因此不决定其任务由谁完成（与 Camunda 相同）：{m_where}。"
     "请以角色命名泳道，或为任务设置 candidateGroups 或处理人。"),
    ("{task} ({id}) to the deployment's default role", "{task}（{id}）交给部署的默认角色"),
    ("{task} ({id}) to its assignee or candidates", "{task}（{id}）交给其处理人或候选人"),
    # variables two forms label otherwise (engine.variable_catalog)
    ("Variable '{name}' is labelled {label_2} in form '{form_2}' but {label_1} in form '{form_1}', which owns it.",
     "变量 '{name}' 在表单 '{form_2}' 中的标签为 {label_2}，而拥有它的表单 '{form_1}' 中为 {label_1}。"),
    ("Variable '{name}' labels the choice '{value}' otherwise in form '{form_2}' than in form '{form_1}', which owns "
     "it.", "变量 '{name}' 的选项 '{value}' 在表单 '{form_2}' 中的标签与拥有它的表单 '{form_1}' 不同。"),
    ("Pages show the owning form's labels, except on the task of '{form}'.", "页面按拥有该变量的表单显示标签，'{form}' 所在任务除外。"),
    ("Give both fields the same labels, or store the second one in another variable.",
     "请为两个字段使用相同的标签，或把第二个存入另一个变量。"),
    # structure
    ("This receive task has no message: it waits until it is signalled through the API (POST "
     "/api/v1/instances/<id>/signal with {body}).", "此接收任务没有消息：它会一直等待，直到通过 API 发送信号（POST /api/v1/instances/<id>/signal，内容为 {body}）。"),
    ("errorRef '{ref}' names no declared error: it is taken as the error code '{code}' (declare a bpmn:error with "
     "that id to say so explicitly).", "errorRef '{ref}' 未指向已声明的错误：按错误代码 '{code}' 处理（声明一个该 id 的 bpmn:error 以明确表示）。"),
    ("This data association to a data store is ignored: Liucheng does not run data stores; read or write the data "
     "in a script or service task.", "此与数据存储的数据关联被忽略：流程引擎不运行数据存储；请在脚本任务或服务任务中读写数据。"),
    ("This data store is ignored: Liucheng does not run data stores (they document where data lives); read or write "
     "the data in a script or service task.", "此数据存储被忽略：流程引擎不运行数据存储（它们只说明数据存放的位置）；请在脚本任务或服务任务中读写数据。"),
    ("This task's outgoing flows have conditions: it takes every flow whose condition is true, those without a "
     "condition always, its default flow when none is true (an inclusive gateway '{id}' is added; no flow to take "
     "stops the instance with an incident).", "此任务的出口顺序流带有条件：条件为真的顺序流都会执行，无条件的总会执行，都不为真时走默认顺序流"
     "（会添加包容网关 '{id}'；没有可走的顺序流时实例因故障停止）。"),
    ("This task has several outgoing flows without conditions: all of them are taken in parallel, as in Camunda (a "
     "parallel gateway '{id}' is added). Draw an exclusive gateway if only one path is meant.",
     "此任务有多个无条件的出口顺序流：与 Camunda 相同，全部并行执行（会添加并行网关 '{id}'）。如只应走一条路径，请画一个排他网关。"),
    ("This exclusive gateway's flow(s) {flows} have no condition, so they count as true, as in Camunda: the gateway "
     "takes the first flow, in the order they are written in the file, whose condition is true or absent. Give each "
     "flow a condition, or make one the default flow.", "此排他网关的顺序流 {flows} 没有条件，因此与 Camunda 相同视为真：网关按文件中的书写顺序"
     "走第一条条件为真或没有条件的顺序流。请为每条顺序流设置条件，或把其中一条设为默认顺序流。"),
    ("print(...) on line(s) {lines} of this script does nothing: a script has no console in Liucheng. Assign the "
     "value to a variable to see it in the instance's data.", "此脚本第 {lines} 行的 print(...) 没有作用：流程引擎中的脚本没有控制台。请把值赋给变量，以便在实例数据中查看。"),
    # expressions and timers
    ("{what} is outside the JUEL subset Liucheng translates: {m_detail}", "{what} 超出了流程引擎支持转换的 JUEL 子集：{m_detail}"),
    ("{what} is not allowed: {m_detail}", "{what} 不被允许：{m_detail}"),
    ("Expression '{text}' is outside the JUEL subset Liucheng translates: {m_detail}.", "表达式 '{text}' 超出了流程引擎支持转换的 JUEL 子集：{m_detail}。"),
    ("Expression '{text}' is not allowed: {m_detail}", "表达式 '{text}' 不被允许：{m_detail}"),
    ("JUEL column {column}: {m_detail}", "JUEL 第 {column} 列：{m_detail}"),
    ("Write it as ${variable} or another JUEL expression of the supported subset.", "请写成 ${variable} 或其他受支持子集的 JUEL 表达式。"),
    ("Write the name as text with ${variable} parts, or another JUEL expression of the supported subset.",
     "请把名称写成含 ${variable} 的文本，或其他受支持子集的 JUEL 表达式。"),
    ("Write a JUEL expression of the supported subset.", "请写受支持子集的 JUEL 表达式。"),
    ("Empty {tag}: write a Python expression (e.g. `amount > 100`) or, for a timer, an ISO-8601 duration such as "
     "PT24H.", "{tag} 为空：请写 Python 表达式（例如 `amount > 100`），计时器则写 ISO-8601 时长，例如 PT24H。"),
    ("Timer '{text}' of a start event is JUEL, but a start event has no variables yet: write it as ISO-8601 text "
     "(e.g. R/PT1H, PT24H, 2026-12-01T14:00:00).", "开始事件的计时器 '{text}' 是 JUEL，但开始事件还没有变量：请写成 ISO-8601 文本（例如 R/PT1H、PT24H、2026-12-01T14:00:00）。"),
    ("Timer '{text}' is neither ISO-8601 (PT24H, 2026-12-01T14:00:00, R/P1D), a Quartz cron (0 0/5 * * * ?) nor a "
     "Python expression giving one; write it in one of those forms.",
     "计时器 '{text}' 既不是 ISO-8601（PT24H、2026-12-01T14:00:00、R/P1D）、Quartz cron（0 0/5 * * * ?），也不是得出它们的 Python 表达式；请按其中一种形式书写。"),
    ("This timer says neither when nor how often (no timeDate, timeDuration or timeCycle), which Camunda 7 refuses "
     "too: add one, e.g. <timeDuration>PT1H</timeDuration>.", "此计时器既没有说明时间也没有说明频率（没有 timeDate、timeDuration 或 timeCycle），Camunda 7 同样拒绝：请添加其一，例如 <timeDuration>PT1H</timeDuration>。"),
    ("Timer {tag} '{text}' is a {w_form}, but {tag2} expects {m_expected}; write that, or put '{text2}' in {form}.",
     "计时器 {tag} '{text}' 是{w_form}，但 {tag2} 需要{m_expected}；请照此书写，或把 '{text2}' 放到 {form} 中。"),
    ("a cycle: R/PT1H (every hour), R3/PT10H (three times), R/2026-12-01T00:00:00+08:00/P1D (daily from then) or a "
     "Quartz cron such as 0 0/5 * * * ? (every five minutes)", "周期：R/PT1H（每小时）、R3/PT10H（三次）、R/2026-12-01T00:00:00+08:00/P1D（从该时刻起每天）或 Quartz cron，例如 0 0/5 * * * ?（每五分钟）"),
    ("a duration such as PT24H, P3D or PT0S", "时长，例如 PT24H、P3D 或 PT0S"),
    ("a date and time such as 2026-12-01T14:00:00+08:00", "日期时间，例如 2026-12-01T14:00:00+08:00"),
    ("Timer cycle: {m_detail}.", "计时器周期：{m_detail}。"),
    ("The condition '{text}' is written in FEEL (Camunda 8 / Zeebe), which is not executable in Camunda 7 either: "
     "write it as JUEL ${…} or as Python, naming process variables, e.g. ${example}, ${approved}, ${not_approved} "
     "or `{python}`.", "条件 '{text}' 用 FEEL（Camunda 8 / Zeebe）编写，在 Camunda 7 中同样无法执行：请写成 JUEL ${…} 或 Python，"
     "使用流程变量，例如 ${example}、${approved}、${not_approved} 或 `{python}`。"),
    ("The condition '{text}' is written in XPath (the BPMN spec's default expression language), which is not "
     "executable in Camunda 7 either: write it as JUEL ${…} or as Python, naming process variables, e.g. ${example}, "
     "${approved}, ${not_approved} or `{python}`.", "条件 '{text}' 用 XPath（BPMN 规范的默认表达式语言）编写，在 Camunda 7 中同样无法执行："
     "请写成 JUEL ${…} 或 Python，使用流程变量，例如 ${example}、${approved}、${not_approved} 或 `{python}`。"),
    ("The condition '{text}' is written in prose (a name with spaces is not a variable), which is not executable in "
     "Camunda 7 either: write it as JUEL ${…} or as Python, naming process variables, e.g. ${example}, ${approved}, "
     "${not_approved} or `{python}`.", "条件 '{text}' 是自然语言（带空格的名称不是变量），在 Camunda 7 中同样无法执行：请写成 JUEL ${…} 或 Python，"
     "使用流程变量，例如 ${example}、${approved}、${not_approved} 或 `{python}`。"),
    ("Parameter '{id}' is a camunda:script, which Liucheng does not evaluate: write its value as ${…} (JUEL) or "
     "text, or compute it in a script task.", "参数 '{id}' 是 camunda:script，流程引擎不会求值：请把值写成 ${…}（JUEL）或文本，或在脚本任务中计算。"),
    # JUEL details
    ("the expression has no closing '}'; end it with '}'", "表达式缺少结尾的 '}'；请以 '}' 结束"),
    ("the expression is empty; write a condition such as ${example}", "表达式为空；请写一个条件，例如 ${example}"),
    ("the expression ends too early", "表达式提前结束"),
    ("{m_what}; check the operators and brackets (supported: == != < > <= >= && || ! empty + - * / % ?: and . [ ])",
     "{m_what}；请检查运算符和括号（支持：== != < > <= >= && || ! empty + - * / % ?: 以及 . [ ]）"),
    ("expected '{op}' {what}, found {found}", "应为 '{op}'（{what}），实际为 {found}"),
    ("unexpected character {char}; remove it or quote the text as a string 'like this'", "意外的字符 {char}；请删除，或把文本写成字符串 'like this'"),
    ("`instanceof` is not supported; compare the value itself", "不支持 `instanceof`；请直接比较值"),
    ("assignment is not an expression; to compare write `==`", "赋值不是表达式；比较请写 `==`"),
    ("`+=` string concatenation (EL 3.0) is not supported; write `'a' + b` or `a.concat(b)`", "不支持 `+=` 字符串拼接（EL 3.0）；请写 `'a' + b` 或 `a.concat(b)`"),
    ("lambda expressions are not supported; write the condition directly", "不支持 lambda 表达式；请直接写条件"),
    ("`;` (several expressions) is not supported; write one expression", "不支持 `;`（多个表达式）；请只写一个表达式"),
    ("set and map literals are not supported; compare with the values one by one", "不支持集合和映射字面量；请逐个值比较"),
    ("function calls are not supported; use a method of a string or list ({methods}) or a plain value",
     "不支持函数调用；请使用字符串或列表的方法（{methods}）或普通值"),
    ("method '{name}' is not supported (safe methods of strings and lists: {methods}); if '{bean}' is a Java bean, "
     "this calls the method '{name2}' of the Java bean '{bean2}', which Liucheng does not have (it runs no Java "
     "code): make the service task an external task (camunda:type=\"external\" camunda:topic=\"<topic>\", done by a "
     "worker through the external task API) or register a connector in engine/connectors; where a value is needed "
     "(a condition, an assignee), compute it in a script task or an external task first and name the variable, e.g. "
     "${approved} or ${editor}", "不支持方法 '{name}'（字符串和列表的安全方法：{methods}）；如果 '{bean}' 是 Java bean，这里调用的是 Java bean '{bean2}' "
     "的方法 '{name2}'，流程引擎没有它（不运行 Java 代码）：请把" + JUEL_FIX + "；需要值的地方（条件、处理人），请先在脚本任务或外部任务中计算并命名变量，"
     "例如 ${approved} 或 ${editor}"),
    ("method '{name}' is not supported; the safe methods are {methods}", "不支持方法 '{name}'；安全的方法有 {methods}"),
    ("'{name}' takes {counts} argument(s), not {given}", "'{name}' 需要 {counts} 个参数，而不是 {given} 个"),
    ("expected a property or method name after '.', found {found}", "'.' 之后应为属性或方法名，实际为 {found}"),
    ("execution.setVariable sets a variable and gives no value: use it only as the whole expression of a service "
     "task (camunda:expression), or set the variable in a script task",
     "execution.setVariable 只设置变量而不返回值：只能把它用作服务任务的完整表达式（camunda:expression），或在脚本任务中设置变量"),
    ("execution.setVariable can only be the whole expression of a service task; set the variable in a script task "
     "instead", "execution.setVariable 只能作为服务任务的完整表达式；请改在脚本任务中设置变量"),
    ("execution.{member} is not available in Liucheng (only execution.getVariable and execution.setVariable are): "
     "pass the value as a process variable (the business key is the 'business_key' of the start request) and name "
     "it, e.g. ${orderId}", "流程引擎中没有 execution.{member}（只有 execution.getVariable 和 execution.setVariable）：请把值作为流程变量传入"
     "（业务单号是启动请求的 'business_key'）并引用它，例如 ${orderId}"),
    ("execution.{member} takes the variable's name as a quoted text{rest}", "execution.{member} 需要带引号的变量名{rest}"),
    ("'{name}' is a Java object of Camunda/Flowable, not a process variable; name the variable directly (e.g. "
     "${amount}, not ${{name2}.getVariable('amount')})", "'{name}' 是 Camunda/Flowable 的 Java 对象，不是流程变量；请直接引用变量（例如 ${amount}，而不是 ${{name2}.getVariable('amount')}）"),
    ("variable '{name}': names starting with '_' or holding '$' are not allowed in the sandbox; rename the variable",
     "变量 '{name}'：沙箱中不允许以 '_' 开头或含 '$' 的名称；请重命名变量"),
    ("'{name}' cannot be a variable name in Liucheng (it is a reserved word); rename the variable",
     "'{name}' 在流程引擎中不能作变量名（是保留字）；请重命名变量"),
    # cron
    ("Cron '{text}' has {count} fields; Quartz cron has six or seven (seconds minutes hours day-of-month month "
     "day-of-week [year]), e.g. {m_example}", "Cron '{text}' 有 {count} 个字段；Quartz cron 有六或七个字段（秒 分 时 日 月 星期 [年]），例如 {m_example}"),
    ("Cron '{text}': {m_detail}; write a Quartz cron, e.g. {m_example}", "Cron '{text}'：{m_detail}；请写 Quartz cron，例如 {m_example}"),
    ("0 0/5 * * * ? (every five minutes) or 0 0 9 ? * MON-FRI (09:00 on weekdays)",
     "0 0/5 * * * ?（每五分钟）或 0 0 9 ? * MON-FRI（工作日 09:00）"),
    ("both a day of month and a day of week are given; put '?' in one of them", "同时给出了日期和星期；请在其中一个字段写 '?'"),
    ("'?' is in both day fields; give a day of month or a day of week", "两个日字段都是 '?'；请给出日期或星期"),
    ("'{text}' is not a valid {w_unit} (from {low} to {high})", "'{text}' 不是有效的「{w_unit}」值（{low} 到 {high}）"),
    ("'{field}' is not a valid {w_unit} field ('?', 'L', 'W' and '#' are for the day fields)",
     "'{field}' 不是有效的「{w_unit}」字段（'?'、'L'、'W' 和 '#' 只用于日和星期字段）"),
    # multi-instance
    ("This multi-instance activity says neither how many instances nor over what: add camunda:collection=\"items\" "
     "with camunda:elementVariable=\"item\", or a loopCardinality (e.g. 3 or ${reviewers}).",
     "此多实例活动既没有说明实例数量，也没有说明遍历的集合：请添加 camunda:collection=\"items\" 和 camunda:elementVariable=\"item\"，或 loopCardinality（例如 3 或 ${reviewers}）。"),
    ("{what} is empty: write {m_expected}.", "{what} 为空：请写{m_expected}。"),
    ("a number, a Python expression or a JUEL expression (${expression})", "数字、Python 表达式或 JUEL 表达式（${expression}）"),
    ("a process variable's name (items) or a JUEL expression (${order_items})", "流程变量名（items）或 JUEL 表达式（${order_items}）"),
    ("{attribute}=\"{value}\" is not a variable name: write a name such as item (letters, digits, _).",
     "{attribute}=\"{value}\" 不是变量名：请写一个名称，例如 item（字母、数字、_）。"),
    # services and connectors
    ("This service task names no implementation, so it is an external task of topic '{topic}': the instance waits "
     "there until a worker completes it through the external task API. Set camunda:type=\"external\" "
     "camunda:topic=\"<topic>\" to choose the topic, or name a connector with <spiffworkflow:serviceTaskOperator> "
     "(registered: {registered}).", "此服务任务未指定实现，因此是主题为 '{topic}' 的外部任务：实例会在此等待，直到工作程序通过外部任务 API 完成它。"
     "请设置 camunda:type=\"external\" camunda:topic=\"<topic>\" 指定主题，或用 <spiffworkflow:serviceTaskOperator> 指定连接器（已注册：{registered}）。"),
    ("{attribute}=\"{delegate}\" names Java code, which Liucheng cannot run: make it an external task "
     "(camunda:type=\"external\" camunda:topic=\"<topic>\", done by a worker through the external task API) or "
     "register a connector named '{name}' in engine/connectors (registered: {registered}).",
     "{attribute}=\"{delegate}\" 指向 Java 代码，流程引擎无法运行：请改为外部任务（camunda:type=\"external\" camunda:topic=\"<topic>\"，由工作程序通过外部任务 API 完成），"
     "或在 engine/connectors 中注册名为 '{name}' 的连接器（已注册：{registered}）。"),
    ("Unknown connector '{name}': use one of {registered} or register it in engine/connectors.",
     "未知的连接器 '{name}'：请使用以下之一：{registered}，或在 engine/connectors 中注册它。"),
    ("Connector '{name}' needs input '{input}': add {element}.", "连接器 '{name}' 需要输入 '{input}'：请添加 {element}。"),
    ("Connector '{name}' has no input '{input}'; its inputs are {inputs}.", "连接器 '{name}' 没有输入 '{input}'；它的输入有 {inputs}。"),
    ("camunda:connector '{name}' is Camunda Connect, which Liucheng does not have: register a connector named "
     "'{name2}' in engine/connectors and name it with <spiffworkflow:serviceTaskOperator>, or make this an external "
     "task (camunda:type=\"external\" camunda:topic=\"<topic>\") done by a worker.",
     "camunda:connector '{name}' 是 Camunda Connect，流程引擎没有：请在 engine/connectors 中注册名为 '{name2}' 的连接器并用 <spiffworkflow:serviceTaskOperator> 指定，"
     "或改为由工作程序完成的外部任务（camunda:type=\"external\" camunda:topic=\"<topic>\"）。"),
    ("{attribute}=\"{type}\" is a service of another engine that Liucheng does not have: make this an external task "
     "(camunda:type=\"external\" camunda:topic=\"<topic>\") or name a connector with "
     "<spiffworkflow:serviceTaskOperator> (registered: {registered}).",
     "{attribute}=\"{type}\" 是其他引擎的服务，流程引擎没有：请改为外部任务（camunda:type=\"external\" camunda:topic=\"<topic>\"），"
     "或用 <spiffworkflow:serviceTaskOperator> 指定连接器（已注册：{registered}）。"),
    ("This external task has no topic: add {attribute}=\"<topic>\" naming what its workers fetch.",
     "此外部任务没有主题：请添加 {attribute}=\"<topic>\"，说明工作程序获取什么。"),
    ("Input '{name}' = '{value}' is not a valid expression: {m_detail}", "输入 '{name}' = '{value}' 不是有效的表达式：{m_detail}"),
    # forms in the model
    ("Form '{key}' ({written}) is not deployed: the generated form of the element's form fields is used instead.",
     "表单 '{key}'（{written}）未部署：改用根据该元素表单字段生成的表单。"),
    ("Form '{key}' ({written}) is not deployed: the step shows the generic form (complete it, optionally with "
     "variables). Deploy the form (forms/{file}.json, or a Camunda Form .form file) to show it.",
     "表单 '{key}'（{written}）未部署：该步骤显示通用表单（可直接完成，也可附带变量）。请部署该表单（forms/{file}.json，或 Camunda Form .form 文件）以显示它。"),
    ("Form '{key}' (camunda:formRef) is not deployed: deploy its .form file with the BPMN; meanwhile the step shows "
     "the {m_what}", "表单 '{key}'（camunda:formRef）未部署：请将其 .form 文件与 BPMN 一起部署；在此之前该步骤显示{m_what}"),
    ("generated form of its form fields.", "根据其表单字段生成的表单。"),
    ("generic form.", "通用表单。"),
    ("Form '{key}': formRefVersion {version} is not kept; the form deployed now is used (Liucheng keeps no form "
     "versions).", "表单 '{key}'：不保留 formRefVersion {version}；使用当前部署的表单（流程引擎不保留表单版本）。"),
    ("{written}=\"{key}\": an app: form is taken from the forms deployed with Liucheng (deploy the .form file with "
     "the BPMN).", "{written}=\"{key}\"：app: 表单取自流程引擎中已部署的表单（请将 .form 文件与 BPMN 一起部署）。"),
    ("Form '{key}' ({written}) is used; the element's generated form fields are ignored.",
     "使用表单 '{key}'（{written}）；忽略该元素的生成表单字段。"),
    ("{written}=\"{key}\" is an embedded HTML form, which Liucheng does not show (it would run the form's own HTML "
     "and JavaScript): describe its fields as a Liucheng JSON form, forms/{name}.json, and set {written2}=\"{name2}\"; "
     "or as camunda:formData fields; or as a Camunda Form ({name3}.form, camunda:formRef=\"<its id>\").",
     "{written}=\"{key}\" 是嵌入式 HTML 表单，流程引擎不显示（否则会运行表单自带的 HTML 和 JavaScript）：请把字段写成 JSON 表单 forms/{name}.json 并设置 "
     "{written2}=\"{name2}\"；或写成 camunda:formData 字段；或写成 Camunda Form（{name3}.form，camunda:formRef=\"<its id>\"）。"),
    ("{written} names no zeebe:userTaskForm with id '{id}' in this file: add the form or correct the key.",
     "{written} 在本文件中找不到 id 为 '{id}' 的 zeebe:userTaskForm：请添加该表单或更正键名。"),
    ("{written}: the embedded form is empty; the step shows the generic form (design the form in the form editor to "
     "show it).", "{written}：嵌入的表单为空；该步骤显示通用表单（请在表单编辑器中设计表单以显示它）。"),
    ("The embedded form is not JSON ({detail}, line {line}): export it again from the form editor.",
     "嵌入的表单不是 JSON（{detail}，第 {line} 行）：请从表单编辑器重新导出。"),
    ("The embedded form is not a form-js object with 'components'.", "嵌入的表单不是含 'components' 的 form-js 对象。"),
    ("Form '{key}': {m_detail}", "表单 '{key}'：{m_detail}"),
    ("Generated form field '{id}': {m_detail}", "生成的表单字段 '{id}'：{m_detail}"),
    ("Form property '{id}' is not readable: it is not shown.", "表单属性 '{id}' 不可读：不显示。"),
    ("Form field '{id}' has type '{kind}', which Liucheng does not know: it is taken as text.",
     "表单字段 '{id}' 的类型 '{kind}' 流程引擎不认识：按文本处理。"),
    ("Form property '{id}': expression '{expression}' is ignored; the value is stored as {name}.",
     "表单属性 '{id}'：忽略表达式 '{expression}'；值保存为 {name}。"),
    ("Form field '{id}' is not a variable name: its value is stored as {name}.", "表单字段 '{id}' 不是变量名：其值保存为 {name}。"),
    ("Form field '{id}': the default '{text}' is an expression and is ignored.", "表单字段 '{id}'：默认值 '{text}' 是表达式，已忽略。"),
    ("Form field '{id}': the default '{text}' is not a {kind} value and is ignored.", "表单字段 '{id}'：默认值 '{text}' 不是 {kind} 值，已忽略。"),
    ("Form field '{id}': validation constraint {name} is ignored (Liucheng checks required, readonly, min and max of "
     "numbers, minlength and maxlength of text).", "表单字段 '{id}'：忽略校验约束 {name}（流程引擎检查 required、readonly、数字的 min 和 max、文本的 minlength 和 maxlength）。"),
    # form files
    ("Cannot read the form: {detail}. Fix the JSON syntax.", "无法读取表单：{detail}。请修正 JSON 语法。"),
    ("Cannot read the form: {detail}.", "无法读取表单：{detail}。"),
    ("The form needs an 'id' (text).", "表单需要 'id'（文本）。"),
    ("Form id '{id}' is reserved or too long: give an id of at most 128 characters not starting with '{prefix}'.",
     "表单 id '{id}' 是保留的或过长：请使用不超过 128 个字符且不以 '{prefix}' 开头的 id。"),
    ("A form is an object with a list 'fields' (see forms/README.md).", "表单是含 'fields' 列表的对象（见 forms/README.md）。"),
    ("A data dictionary needs 'process_id' (the id of the process it describes) and 'variables' (a list of fields as "
     "in a form); see forms/README.md.", "数据字典需要 'process_id'（所描述流程的 id）和 'variables'（与表单相同的字段列表）；见 forms/README.md。"),
    ("Every field needs a 'name' that is a valid identifier.", "每个字段都需要一个有效标识符作为 'name'。"),
    ("Field '{name}' appears twice; remove one.", "字段 '{name}' 出现了两次；请删除一个。"),
    ("Unknown type '{kind}'; use one of {kinds}.", "未知类型 '{kind}'；请使用以下之一：{kinds}。"),
    ("A note needs a 'text' ({example}) to show.", "说明需要 'text'（{example}）才能显示。"),
    ("A list needs 'fields' (objects) or a scalar 'item_type'.", "列表需要 'fields'（对象）或标量 'item_type'。"),
    ("'fields' must be a list of fields.", "'fields' 必须是字段列表。"),
    ("Pattern '{pattern}' is not a valid regular expression ({detail}); correct it.", "格式 '{pattern}' 不是有效的正则表达式（{detail}）；请更正。"),
    ("Unknown widget '{widget}'; use one of {widgets}.", "未知控件 '{widget}'；请使用以下之一：{widgets}。"),
    ("'add_remove' is true or false.", "'add_remove' 只能是 true 或 false。"),
    ("'choices' is a list of {example}.", "'choices' 是 {example} 的列表。"),
    ("'required_if' is {example}, or a list of them that must all hold.", "'required_if' 的形式为 {example}，或由它们组成、须全部成立的列表。"),
    ("'required_if' is for a field that is neither required, read-only nor a note; remove one.",
     "'required_if' 只用于非必填、非只读、非说明的字段；请去掉其一。"),
    ("'required_if' names field '{other}', which is not another input of the same form or row; use one of: {names}.",
     "'required_if' 指向的字段 '{other}' 不是同一表单或同一行中的其他输入项；请使用以下之一：{names}。"),
    ("A 'required_if' condition has 'field' and exactly one of 'equals', 'not_equals', 'in'.",
     "'required_if' 条件需要 'field'，以及 'equals'、'not_equals'、'in' 中的恰好一个。"),
    ("'in' of 'required_if' is a non-empty list of values.", "'required_if' 的 'in' 必须是非空的值列表。"),
    ("'required_if' compares '{other}' with {value}, which it can never hold; use {values}",
     "'required_if' 把 '{other}' 与 {value} 比较，而它永远不会是该值；请使用 {values}"),
]
