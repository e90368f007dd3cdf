{#- Connected components by min-label propagation: CTEs label_pass_0..n and finally `labels`
    (record_key, label), where label is the smallest record_key reachable within n hops.
    Links are stars per key, so components have a small diameter; the singular test
    `assert_identity_labels_converged` fails if n passes were not enough. -#}
{% macro min_label_passes(nodes, edges, passes) -%}
label_pass_0 as (
    select record_key, record_key as label from {{ nodes }}
),
{% for i in range(1, passes + 1) %}
label_pass_{{ i }} as (
    select
        previous.record_key,
        min(case when neighbour.label < previous.label then neighbour.label
            else previous.label end) as label
    from label_pass_{{ i - 1 }} as previous
    left join {{ edges }} as edge on previous.record_key = edge.record_key
    left join label_pass_{{ i - 1 }} as neighbour on edge.neighbour_key = neighbour.record_key
    group by previous.record_key
),
{% endfor %}
labels as (
    select record_key, label from label_pass_{{ passes }}
)
{%- endmacro %}
