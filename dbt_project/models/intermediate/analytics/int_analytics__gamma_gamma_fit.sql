{#- The Gamma-Gamma spend model (Fader and Hardie 2013) fitted by maximum likelihood to the
    repeat buyers' mean repeat purchase-day value (int_analytics__customer_btyd, a sample above
    var clv_fit_max_customers; customers whose mean is not positive are left out): a customer's purchase values are gamma(p, nu), with nu
    gamma(q, v) across customers. The search runs over p, q and p v instead of v: the likelihood
    has a long ridge along which p v hardly changes (the customers' spend level), so a grid over
    p and v would crawl along it. Customers with the same (x, m) share one likelihood term; the
    grid search (macros/btyd.sql) starts from the last build's fit, or on a first build from
    p = 1, q = 2 and p v = the mean repeat value (the model's mean p v / (q - 1) is then the
    observed one). One row. -#}
{%- set repeat_values -%}
btyd as (select * from {{ ref('int_analytics__customer_btyd') }}),

fitted as (
    {{ fit_sample('btyd', 'customer_id') }}
),

repeat_values as (
    select
        frequency as x,
        cast(average_repeat_purchase_amount as double) as m,
        count(*) as weight
    from fitted
    where frequency > 0 and average_repeat_purchase_amount > 0
    group by frequency, average_repeat_purchase_amount
)
{%- endset -%}

{%- set search = grid_search(
    ['p', 'q', 'spend_scale'], ref('int_analytics__customer_btyd'), repeat_values, 'repeat_values',
    start="select
            0.0 as ln_p,
            ln(2.0) as ln_q,
            ln(sum(weight * m) / sum(weight) / 2) as ln_spend_scale
        from repeat_values",
    warm_start='ln(p) as ln_p, ln(q) as ln_q, ln(v * p / q) as ln_spend_scale',
    log_likelihood=gamma_gamma_log_likelihood('p', 'q', '(spend_scale * q / p)', 'x', 'm'),
    coarse_points=7, coarse_step=1.0) -%}

with {{ repeat_values }},

search as (
    {{ search }}
),

final as (
    select
        search.p,
        search.q,
        search.spend_scale * search.q / search.p as v,
        search.log_likelihood,
        search.step as final_step,
        search.rounds as search_rounds,
        search.is_warm_start,
        totals.customer_count
    from search
    cross join (select sum(weight) as customer_count from repeat_values) as totals
)

select * from final
