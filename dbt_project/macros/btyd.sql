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

{#- Pre-hooks for a fit model on Spark: the search is one query whose plan is 100+ levels deep,
    which Spark's analyzer resolves only with more than its default 100 iterations, and whose
    constraint propagation grows with the depth until the driver runs out of memory (2 GB). The
    settings stay on for the session: resetting them after one fit could pull them from under
    the other, planned at the same time in another thread. None elsewhere. -#}
{% macro deep_query_hooks() -%}
    {{ return(adapter.dispatch('deep_query_hooks')()) }}
{%- endmacro %}
{% macro default__deep_query_hooks() -%}
    {{ return([]) }}
{%- endmacro %}
{% macro spark__deep_query_hooks() -%}
    {{ return([
        'set spark.sql.analyzer.maxIterations=1000',
        'set spark.sql.constraintPropagation.enabled=false']) }}
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
    - then each of `rounds` rounds evaluates the 3^k grid at -step, 0, +step around the best
      point so far, plus the Newton point of the previous round (the maximum of the quadratic
      whose gradient and Hessian are the central differences on the previous grid), and moves
      to the best of them. The step halves when the centre wins and follows the distance moved
      when the Newton point wins, down to min_step (the differences need a step well above the
      rounding noise of a sum over customers). The Newton points make the search converge
      where a grid alone crawls: along the narrow ridges these likelihoods have.
    Every log stays within +-max_log: where the likelihood is highest at an edge of the
    parameter space (a Gamma-Gamma p -> infinity when a customer's values hardly vary, as in
    small samples), the search stops at the bound (e^10 = 22,026) instead of wandering where the
    log-gamma differences lose their precision.
    Each CTE reads the one before it once, so an engine that inlines CTEs (Spark) plans a chain
    as long as the rounds, not a tree that doubles with each round.
    Writes CTEs `<name>_0` .. `<name>_<rounds>`, the last being one row: ln_<parameter> and
    <parameter> for each parameter, step and log_likelihood.
    - start: a relation with one row of ln_<parameter> start values;
    - data: a relation with the likelihood's columns and `weight` (customers per row);
    - log_likelihood: one row's log-likelihood, in terms of the parameter and data columns. -#}
{% macro grid_search_cte(name, parameters, start, data, log_likelihood, rounds,
                         coarse_points=5, coarse_step=1.5, min_step=0.001, max_log=10) -%}
{{ name }}_coarse_grid as (
    {{ _grid_offsets(parameters, (coarse_points - 1) // 2) }}
),

{{ name }}_fine_grid as (
    {{ _grid_offsets(parameters, 1) }}
),

{{ name }}_start as (
    select
        {%- for parameter in parameters %}
        ln_{{ parameter }},
        cast(null as double) as newton_ln_{{ parameter }},
        {%- endfor %}
        cast(null as double) as newton_distance,
        cast({{ coarse_step }} as double) as step
    from {{ start }}
),

{{ _grid_round(parameters, name ~ '_start', name ~ '_coarse_grid', data, log_likelihood, name ~ '_0', min_step, max_log) }}
{%- for round in range(1, rounds + 1) %},

{{ _grid_round(parameters, name ~ '_' ~ (round - 1), name ~ '_fine_grid', data, log_likelihood,
               name ~ '_' ~ round, min_step, max_log) }}
{%- endfor %}
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
