{#- Why records were joined: every link inside a customer with its rule and, for scored links,
    the agreement level and match weight of each comparison (`cdw identity explain`).
    One row per link (record_key, linked_record_key). -#}
with links as (select * from {{ ref('int_identity__links') }}),
scores as (select * from {{ ref('int_identity__pair_scores') }}),
customers as (select * from {{ ref('int_identity__customers') }}),

{%- set comparisons = identity_comparisons() %}

final as (
    select
        customers.customer_id,
        links.record_key,
        links.linked_record_key,
        links.match_rule,
        scores.match_probability,
        scores.match_weight,
        {% for comparison in comparisons %}
        scores.gamma_{{ comparison }} as {{ comparison }}_level,
        scores.weight_{{ comparison }} as {{ comparison }}_weight{% if not loop.last %},{% endif %}
        {% endfor %}
    from links
    inner join customers on links.record_key = customers.record_key
    left join scores
        on scores.record_key_l = least(links.record_key, links.linked_record_key)
        and scores.record_key_r = greatest(links.record_key, links.linked_record_key)
)

select * from final
