{#- Buy-till-you-die models (docs/customer-analytics.md): the log-gamma function, the BG/NBD and
    Gamma-Gamma log-likelihoods, and the grid search that maximises them. -#}

{#- ln Γ(x) for x > 0. -#}
{% macro log_gamma(x) -%}
    {{ return(adapter.dispatch('log_gamma')(x)) }}
{%- endmacro %}
{% macro duckdb__log_gamma(x) -%}
    lgamma({{ x }})
{%- endmacro %}
{#- Spark SQL has no lgamma: Stirling's series at x + 6, where its next term is below 1e-10,
    brought back to x by ln Γ(x) = ln Γ(x + 6) - ln(x (x + 1) ... (x + 5)). -#}
{% macro default__log_gamma(x) -%}
    {%- set z = '((' ~ x ~ ') + 6)' -%}
    (({{ z }} - 0.5) * ln({{ z }}) - {{ z }} + 0.91893853320467274
        + 1 / (12 * {{ z }}) - 1 / (360 * power({{ z }}, 3)) + 1 / (1260 * power({{ z }}, 5))
        - 1 / (1680 * power({{ z }}, 7))
        - ln(({{ x }}) * (({{ x }}) + 1) * (({{ x }}) + 2) * (({{ x }}) + 3) * (({{ x }}) + 4) * (({{ x }}) + 5)))
{%- endmacro %}

{#- The customers of `relation` a fit reads: all of them up to var clv_fit_max_customers,
    else a sample of about that many, chosen by a hash of `key` so that every build fits the
    same customers. The parameters describe the population: at 100,000 customers their standard
    errors are far below what changes a prediction, while the search's cost grows with the
    distinct histories (193 s of a 1M-customer build). Every customer is still predicted. -#}
{% macro fit_sample(relation, key) -%}
    {%- set limit = var('clv_fit_max_customers') -%}
    select * from {{ relation }}
    where abs({{ numeric_hash(key) }}) % 1000000
        < 1000000.0 * {{ limit }} / greatest((select count(*) from {{ relation }}), {{ limit }})
{%- endmacro %}

{#- Log-likelihood of one customer's history under BG/NBD (Fader, Hardie and Lee 2005, eq. 6):
    x repeat purchases, the last at t_x, observed for t since the first purchase. ln of the sum
    of the "still alive at t" and "dropped out after the last purchase" terms is taken as
    A3 + ln(1 + e^D), D = A4 - A3, in a form that neither overflows nor underflows. -#}
{% macro bgnbd_log_likelihood(r, alpha, a, b, x, t_x, t) -%}
    {%- set difference -%}
        (ln({{ a }}) - ln({{ b }} + {{ x }} - 1)
         + ({{ r }} + {{ x }}) * (ln({{ alpha }} + {{ t }}) - ln({{ alpha }} + {{ t_x }})))
    {%- endset -%}
    (
        {{ log_gamma(r ~ ' + ' ~ x) }} - {{ log_gamma(r) }} + {{ r }} * ln({{ alpha }})
        + {{ log_gamma(a ~ ' + ' ~ b) }} + {{ log_gamma(b ~ ' + ' ~ x) }}
        - {{ log_gamma(b) }} - {{ log_gamma(a ~ ' + ' ~ b ~ ' + ' ~ x) }}
        - ({{ r }} + {{ x }}) * ln({{ alpha }} + {{ t }})
        + case when {{ x }} > 0
            then greatest({{ difference }}, 0) + ln(1 + exp(-abs({{ difference }})))
            else 0 end
    )
{%- endmacro %}

{#- Log-likelihood of the mean value m of x > 0 repeat purchases under the Gamma-Gamma spend
    model (Fader and Hardie 2013, "The Gamma-Gamma model of monetary value"). -#}
{% macro gamma_gamma_log_likelihood(p, q, v, x, m) -%}
    (
        {{ log_gamma(p ~ ' * ' ~ x ~ ' + ' ~ q) }} - {{ log_gamma(p ~ ' * ' ~ x) }} - {{ log_gamma(q) }}
        + {{ q }} * ln({{ v }}) + ({{ p }} * {{ x }} - 1) * ln({{ m }}) + {{ p }} * {{ x }} * ln({{ x }})
        - ({{ p }} * {{ x }} + {{ q }}) * ln({{ x }} * {{ m }} + {{ v }})
    )
{%- endmacro %}

{#- Maximum-likelihood fit in log space (every parameter stays positive) by a coarse-to-fine
    grid search with Newton steps:
    - a coarse grid of coarse_points^k points, coarse_step apart in each parameter's log around
      the start, finds the basin of the maximum;
    - then each round evaluates the 3^k grid at -step, 0, +step around the best point so far,
      plus the Newton point of the previous round (the maximum of the quadratic whose gradient
      and Hessian are the central differences on the previous grid), and moves to the best of
      them. The step halves when the centre wins and follows the distance moved when the Newton
      point wins, down to min_step (the differences need a step well above the rounding noise
      of a sum over customers). The Newton points make the search converge where a grid alone
      crawls: along the narrow ridges these likelihoods have.
    - It stops once converged (the step at min_step and the log-likelihood up by less than
      `tolerance` in a round), after at most var clv_fit_rounds rounds.
    - Warm start: where this model was built before (and the build is not a full refresh), the
      search starts at the last fit (`warm_start`: its select list over the old table) with
      warm_step instead of the coarse grid. A day's data moves the maximum little, so a few
      rounds converge again instead of 15-25; the result is still today's maximum.
    Every log stays within +-max_log: where the likelihood is highest at an edge of the
    parameter space (a Gamma-Gamma p -> infinity when a customer's values hardly vary, as in
    small samples), the search stops at the bound (e^10 = 22,026) instead of wandering where the
    log-gamma differences lose their precision.
    Each round is its own query, run while the model compiles, and the model's SQL holds the
    converged state as one row of literals. A search written as one query of chained rounds was
    100+ levels deep: Spark was still planning it after 5 minutes, and it could not stop early.
    Returns that one-row select: ln_<parameter> and <parameter> for each parameter, step,
    log_likelihood, rounds and is_warm_start; typed nulls while parsing or when `inputs` (the
    relation the data is read from) does not exist yet (`dbt docs generate` on a new machine).
    - data_ctes: CTEs, without `with`, that define the relation `data`: the likelihood's
      columns and `weight` (customers per row);
    - start: a select of one row of ln_<parameter> start values, over those CTEs;
    - log_likelihood: one row's log-likelihood, in terms of the parameter and data columns. -#}
{% macro grid_search(parameters, inputs, data_ctes, data, start, warm_start, log_likelihood,
                     coarse_points=5, coarse_step=1.5, warm_step=0.1, min_step=0.001,
                     max_log=10, tolerance=1e-6) -%}
    {%- if not execute or load_relation(inputs) is none -%}
        {{ return(_search_state_select(parameters, none)) }}
    {%- endif -%}
    {%- set previous_fit = none if flags.FULL_REFRESH else load_relation(this) -%}
    {%- if previous_fit is not none -%}
        {%- set state = _search_state(parameters,
            'select ' ~ warm_start ~ ', ' ~ warm_step ~ ' as step from ' ~ previous_fit) -%}
    {%- endif -%}
    {#- cold: a first build, a full refresh, or a last build that had nothing to fit (no repeat
        buyers yet), whose fit gives no start -#}
    {%- if previous_fit is none or _has_no_point(parameters, state) -%}
        {%- set previous_fit = none -%}
        {%- set state = _search_state(parameters,
            'with ' ~ data_ctes ~ ', start as (' ~ start ~ ') select *, ' ~ coarse_step ~ ' as step from start') -%}
        {%- set state = _search_round(parameters, state, data_ctes, data, log_likelihood,
                                      (coarse_points - 1) // 2, min_step, max_log) -%}
    {%- endif -%}
    {%- set search = namespace(state=state, rounds=0, converged=false) -%}
    {%- for round in range(var('clv_fit_rounds')) -%}
        {%- if not search.converged -%}
            {%- set next_state = _search_round(parameters, search.state, data_ctes, data,
                                               log_likelihood, 1, min_step, max_log) -%}
            {#- no likelihood: nothing to fit (no rows), which more rounds do not change -#}
            {%- set search.converged = next_state['log_likelihood'] is none
                or (next_state['step'] <= min_step * 1.000001
                    and search.state['log_likelihood'] is not none
                    and next_state['log_likelihood'] - search.state['log_likelihood'] < tolerance) -%}
            {%- set search.state = next_state -%}
            {%- set search.rounds = round + 1 -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do search.state.update({'rounds': search.rounds, 'is_warm_start': previous_fit is not none}) -%}
    {{ return(_search_state_select(parameters, search.state)) }}
{%- endmacro %}

{% macro _has_no_point(parameters, state) -%}
    {%- for parameter in parameters if state['ln_' ~ parameter] is none -%}
        {{ return(true) }}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}

{#- The search's state (ln_<parameter>, newton_ln_<parameter>, newton_distance, step,
    log_likelihood) as a dict of the first row of `sql`; missing columns are none. -#}
{% macro _search_state(parameters, sql) -%}
    {%- set table = run_query(sql) -%}
    {%- set state = {} -%}
    {%- for column in _search_state_columns(parameters) -%}
        {%- do state.update({column: table.rows[0][column] if column in table.column_names else none}) -%}
    {%- endfor -%}
    {{ return(state) }}
{%- endmacro %}

{% macro _search_state_columns(parameters) -%}
    {%- set columns = [] -%}
    {%- for parameter in parameters -%}
        {%- do columns.extend(['ln_' ~ parameter, 'newton_ln_' ~ parameter]) -%}
    {%- endfor -%}
    {{ return(columns + ['newton_distance', 'step', 'log_likelihood']) }}
{%- endmacro %}

{#- One row of the state's values. A double crosses from the database to Jinja and back as its
    shortest decimal form, which reads back as the same double. -#}
{% macro _search_state_select(parameters, state) -%}
    select
    {%- for column in _search_state_columns(parameters) %}
        {{ _double_literal(state[column] if state is not none else none) }} as {{ column }},
    {%- endfor %}
    {%- for parameter in parameters %}
        exp({{ _double_literal(state['ln_' ~ parameter] if state is not none else none) }}) as {{ parameter }},
    {%- endfor %}
        cast({{ state['rounds'] if state is not none and 'rounds' in state else 'null' }} as {{ dbt.type_int() }}) as rounds,
        cast({{ 'null' if state is none or 'is_warm_start' not in state else state['is_warm_start'] | lower }} as boolean) as is_warm_start
{%- endmacro %}

{% macro _double_literal(value) -%}
    cast({{ "'" ~ value ~ "'" if value is not none else 'null' }} as double)
{%- endmacro %}

{#- One round of the search from `state`: a grid of -half .. half steps around its centre and its
    Newton point, evaluated over `data`; the next state. -#}
{% macro _search_round(parameters, state, data_ctes, data, log_likelihood, half, min_step, max_log) -%}
    {%- set sql -%}
        with {{ data_ctes }},

        previous as ({{ _search_state_select(parameters, state) }}),

        grid as ({{ _grid_offsets(parameters, half) }}),

        {{ _grid_round(parameters, 'previous', 'grid', data, log_likelihood, 'result', min_step, max_log) }}

        select * from result
    {%- endset -%}
    {{ return(_search_state(parameters, sql)) }}
{%- endmacro %}

{#- Every combination of -half .. half steps in each parameter, and one more row standing for
    the Newton point (null offsets). -#}
{% macro _grid_offsets(parameters, half) -%}
    select
        {%- for parameter in parameters %}
        offset_{{ loop.index }}.step_count as {{ parameter }}_offset,
        {%- endfor %}
        false as is_newton
    from
        {%- for parameter in parameters %}
        (
            {%- for step_count in range(-half, half + 1) %}
            select {{ step_count }} as step_count {%- if not loop.last %} union all{% endif %}
            {%- endfor %}
        ) as offset_{{ loop.index }}
        {%- if not loop.last %} cross join{% endif %}
        {%- endfor %}
    union all
    select
        {%- for parameter in parameters %}
        cast(null as {{ dbt.type_int() }}),
        {%- endfor %}
        true
{%- endmacro %}

{#- One round from the state `previous` (centre, step, Newton point): the candidates, their
    log-likelihoods, the best of them and the differences around the centre in one pass, and
    the next state `result`. -#}
{% macro _grid_round(parameters, previous, grid, data, log_likelihood, result, min_step, max_log) -%}
{%- set k = parameters | length -%}
{{ result }}_candidates as (
    select
        {%- for parameter in parameters %}
        case when grid.is_newton then previous.newton_ln_{{ parameter }}
            else previous.ln_{{ parameter }} + grid.{{ parameter }}_offset * previous.step
        end as ln_{{ parameter }},
        grid.{{ parameter }}_offset,
        {%- endfor %}
        grid.is_newton,
        {% for parameter in parameters %}coalesce(grid.{{ parameter }}_offset = 0, false){% if not loop.last %} and {% endif %}{% endfor %} as is_centre,
        previous.newton_distance,
        previous.step
    from {{ previous }} as previous
    cross join {{ grid }} as grid
    where not (grid.is_newton and previous.newton_ln_{{ parameters[0] }} is null)
),

{{ result }}_evaluated as (
    select
        candidates.*,
        sum(weight * {{ log_likelihood }}) as log_likelihood
    from (
        select
            *,
            {%- for parameter in parameters %}
            exp(ln_{{ parameter }}) as {{ parameter }}{% if not loop.last %},{% endif %}
            {%- endfor %}
        from {{ result }}_candidates
        where {% for parameter in parameters %}abs(ln_{{ parameter }}) <= {{ max_log }}{% if not loop.last %} and {% endif %}{% endfor %}
    ) as candidates
    cross join {{ data }}
    group by all
),

{#- the centre wins ties, so a flat likelihood shrinks the step instead of wandering -#}
{{ result }}_ranked as (
    select
        *,
        row_number() over (
            order by case when isnan(log_likelihood) then 1 else 0 end, log_likelihood desc,
                is_centre desc, is_newton desc
                {%- for parameter in parameters %}, ln_{{ parameter }}{% endfor %}) as rank_number
    from {{ result }}_evaluated
),

{{ result }}_summary as (
    select
        {%- for parameter in parameters %}
        max(case when rank_number = 1 then ln_{{ parameter }} end) as ln_{{ parameter }},
        max(case when is_centre then ln_{{ parameter }} end) as centre_ln_{{ parameter }},
        {%- endfor %}
        max(case when rank_number = 1 then log_likelihood end) as log_likelihood,
        max(case when rank_number = 1 and is_centre then 1 else 0 end) = 1 as is_centre_best,
        max(case when rank_number = 1 and is_newton then newton_distance end) as best_newton_distance,
        max(step) as step,
        {%- for i in range(k) %}
        (max(case when {{ _at(parameters, {i: 1}) }} then log_likelihood end)
         - max(case when {{ _at(parameters, {i: -1}) }} then log_likelihood end)) / (2 * max(step)) as g_{{ i }},
        {%- for j in range(i, k) %}
        {%- if i == j %}
        (max(case when {{ _at(parameters, {i: 1}) }} then log_likelihood end)
         - 2 * max(case when is_centre then log_likelihood end)
         + max(case when {{ _at(parameters, {i: -1}) }} then log_likelihood end)) / (max(step) * max(step)) as h_{{ i }}_{{ j }}
        {%- else %}
        (max(case when {{ _at(parameters, {i: 1, j: 1}) }} then log_likelihood end)
         - max(case when {{ _at(parameters, {i: 1, j: -1}) }} then log_likelihood end)
         - max(case when {{ _at(parameters, {i: -1, j: 1}) }} then log_likelihood end)
         + max(case when {{ _at(parameters, {i: -1, j: -1}) }} then log_likelihood end)) / (4 * max(step) * max(step)) as h_{{ i }}_{{ j }}
        {%- endif %}{% if not (loop.last and i == k - 1) %},{% endif %}
        {%- endfor %}
        {%- endfor %}
    from {{ result }}_ranked
),

{%- set hessian = [] %}
{%- for i in range(k) %}
    {%- set row = [] %}
    {%- for j in range(k) %}
        {%- do row.append('h_' ~ ([i, j] | min) ~ '_' ~ ([i, j] | max)) %}
    {%- endfor %}
    {%- do hessian.append(row) %}
{%- endfor %}

{#- The Newton point x0 - H^-1 g around the centre x0, H solved by Cramer's rule (null when
    singular), within a trust region of two steps in each log, so a poor quadratic far from the
    maximum cannot throw the search where floating-point error dominates. -#}
{{ result }} as (
    select
        {%- for parameter in parameters %}
        ln_{{ parameter }},
        exp(ln_{{ parameter }}) as {{ parameter }},
        centre_ln_{{ parameter }} + greatest(-2 * step, least(2 * step, delta_{{ parameter }})) as newton_ln_{{ parameter }},
        {%- endfor %}
        least(2 * step, greatest({% for parameter in parameters %}abs(delta_{{ parameter }}){% if not loop.last %}, {% endif %}{% endfor %})) as newton_distance,
        case
            when is_centre_best then greatest(step / 2, {{ min_step }})
            when best_newton_distance is not null then greatest(least(step, best_newton_distance), {{ min_step }})
            else step
        end as step,
        log_likelihood
    from (
        select
            *,
            {%- for parameter in parameters %}
            {%- set i = loop.index0 %}
            {%- set replaced = [] %}
            {%- for row in hessian %}
                {%- do replaced.append(row[:i] + ['(-g_' ~ loop.index0 ~ ')'] + row[i + 1:]) %}
            {%- endfor %}
            ({{ _determinant(replaced) }}) / nullif({{ _determinant(hessian) }}, 0) as delta_{{ parameter }}{% if not loop.last %},{% endif %}
            {%- endfor %}
        from {{ result }}_summary
    ) as solved
)
{%- endmacro %}

{#- The grid point at the given offsets ({parameter index: steps}; 0 elsewhere). -#}
{% macro _at(parameters, offsets) -%}
    {%- for parameter in parameters -%}
        {{ parameter }}_offset = {{ offsets.get(loop.index0, 0) }}{% if not loop.last %} and {% endif %}
    {%- endfor -%}
{%- endmacro %}

{#- The determinant of a square matrix of SQL expressions, by cofactor expansion. -#}
{% macro _determinant(matrix) -%}
    {%- if matrix | length == 1 -%}
        {{ matrix[0][0] }}
    {%- else -%}
        {%- for j in range(matrix | length) -%}
            {%- set minor = [] -%}
            {%- for row in matrix[1:] -%}
                {%- do minor.append(row[:j] + row[j + 1:]) -%}
            {%- endfor -%}
            {{ ' - ' if j % 2 else (' + ' if j else '') }}{{ matrix[0][j] }} * ({{ _determinant(minor) }})
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
