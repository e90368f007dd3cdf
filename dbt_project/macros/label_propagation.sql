{#- Connected components by min-label propagation with pointer jumping: CTEs label_hook_i and
    label_pass_i, and finally `labels` (record_key, label), label being the smallest record_key
    of the component once converged. Each pass first takes the smallest label among a record's
    neighbours (hook), then replaces every label by its own record's label (shortcut), so a chain
    of length d converges in about log2(d) passes instead of d: chains through name + postcode or
    shared phones in a large world are far longer than the stars each key forms.
    The singular test `assert_identity_links_within_one_customer` fails if n passes were not
    enough. -#}
{% macro min_label_passes(nodes, edges, passes) -%}
    {{ return(adapter.dispatch('min_label_passes')(nodes, edges, passes)) }}
{%- endmacro %}

{#- After the first pass almost every component is done (a link graph is mostly stars and
    pairs: 1 % of the records of a 100,000-customer world still change after it). A label held
    by no record with a neighbour of another label is settled: its records are a whole
    component, labelled with its smallest record_key, and no later pass changes them. The later
    passes run over the other records and their edges only (an edge of such a record always
    leads to another one, and so does its label), so every label is the one the passes over
    all records give. `edges` holds both directions of each link. -#}
{% macro default__min_label_passes(nodes, edges, passes) -%}
label_pass_0 as (
    select record_key, record_key as label from {{ nodes }}
),
{% for i in range(1, passes + 1) %}
{%- set pass_edges = edges if i == 1 else 'label_open_edges' %}
label_hook_{{ i }} as (
    select
        previous.record_key,
        min(case when neighbour.label < previous.label then neighbour.label
            else previous.label end) as label
    from label_pass_{{ i - 1 }} as previous
    left join {{ pass_edges }} as edge on previous.record_key = edge.record_key
    left join label_pass_{{ i - 1 }} as neighbour on edge.neighbour_key = neighbour.record_key
    group by previous.record_key
),
label_{{ 'pass' if i > 1 or passes == 1 else 'all' }}_{{ i }} as (
    select
        hooked.record_key,
        case when parent.label < hooked.label then parent.label else hooked.label end as label
    from label_hook_{{ i }} as hooked
    left join label_hook_{{ i }} as parent on hooked.label = parent.record_key
),
{%- if i == 1 and passes > 1 %}
{#- the labels still open after the first pass, their records and their edges -#}
label_open as (
    select own.label
    from {{ edges }} as edge
    inner join label_all_1 as own on edge.record_key = own.record_key
    inner join label_all_1 as neighbour on edge.neighbour_key = neighbour.record_key
    where own.label <> neighbour.label
    union
    select neighbour.label
    from {{ edges }} as edge
    inner join label_all_1 as own on edge.record_key = own.record_key
    inner join label_all_1 as neighbour on edge.neighbour_key = neighbour.record_key
    where own.label <> neighbour.label
),
label_pass_1 as (
    select record_key, label from label_all_1
    where label in (select label from label_open)
),
label_open_edges as (
    select edge.record_key, edge.neighbour_key
    from {{ edges }} as edge
    inner join label_pass_1 on edge.record_key = label_pass_1.record_key
),
{%- endif %}
{% endfor %}
labels as (
    {%- if passes > 1 %}
    select record_key, label from label_all_1
    where label not in (select label from label_open)
    union all
    {%- endif %}
    select record_key, label from label_pass_{{ passes }}
)
{%- endmacro %}

{#- The same passes, each reading the one before it once. Spark inlines a CTE that is read twice,
    so with the self-joins above every pass doubles the plan of the one before (2^n copies of the
    first pass: the driver ran out of heap planning 12 passes). Here each join is a window over
    one relation: the hook unions the labels with the edges and hands every record's label to
    the records linked to it (a window partitioned by that record); the shortcut stacks every
    hooked row as a child (keyed by its label) and as a parent (keyed by its record) and hands
    each parent's label to its children. Same labels as default__ after every pass. -#}
{% macro spark__min_label_passes(nodes, edges, passes) -%}
label_pass_0 as (
    select record_key, record_key as label from {{ nodes }}
),
{% for i in range(1, passes + 1) %}
label_hook_{{ i }} as (
    select
        target_key as record_key,
        min(neighbour_label) as label
    from (
        select
            target_key,
            own_label,
            {#- a record's own row hands it its own label -#}
            max(own_label) over (partition by source_key) as neighbour_label
        from (
            select record_key as source_key, record_key as target_key, label as own_label
            from label_pass_{{ i - 1 }}
            union all
            select neighbour_key, record_key, null from {{ edges }}
        ) as labels_and_edges
    ) as handed
    group by target_key
    having count(own_label) > 0
),
label_pass_{{ i }} as (
    select
        record_key,
        case when parent_label < label then parent_label else label end as label
    from (
        select
            role,
            record_key,
            label,
            max(case when role = 'parent' then label end) over (partition by join_key) as parent_label
        from label_hook_{{ i }}
        lateral view stack(2, 'child', label, 'parent', record_key) roles as role, join_key
    ) as stacked
    where role = 'child'
),
{% endfor %}
labels as (
    select record_key, label from label_pass_{{ passes }}
)
{%- endmacro %}
