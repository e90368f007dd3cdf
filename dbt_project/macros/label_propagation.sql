{#- Connected components by min-label propagation with pointer jumping: CTEs label_hook_i and
    label_pass_i, and finally `labels` (record_key, label), label being the smallest record_key
    of the component once converged. Each pass first takes the smallest label among a record's
    neighbours (hook), then replaces every label by its own record's label (shortcut), so a chain
    of length d converges in about log2(d) passes instead of d: chains through name + postcode or
    shared phones in a large world are far longer than the stars each key forms.
    The singular test `assert_identity_links_within_one_customer` fails if n passes were not
    enough. -#}
{% macro min_label_passes(nodes, edges, passes) -%}
label_pass_0 as (
    select record_key, record_key as label from {{ nodes }}
),
{% for i in range(1, passes + 1) %}
label_hook_{{ i }} as (
    select
        previous.record_key,
        min(case when neighbour.label < previous.label then neighbour.label
            else previous.label end) as label
    from label_pass_{{ i - 1 }} as previous
    left join {{ edges }} as edge on previous.record_key = edge.record_key
    left join label_pass_{{ i - 1 }} as neighbour on edge.neighbour_key = neighbour.record_key
    group by previous.record_key
),
label_pass_{{ i }} as (
    select
        hooked.record_key,
        case when parent.label < hooked.label then parent.label else hooked.label end as label
    from label_hook_{{ i }} as hooked
    left join label_hook_{{ i }} as parent on hooked.label = parent.record_key
),
{% endfor %}
labels as (
    select record_key, label from label_pass_{{ passes }}
)
{%- endmacro %}
