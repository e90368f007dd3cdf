{#- The BG/NBD model (Fader, Hardie and Lee 2005) fitted by maximum likelihood to every buyer's
    history (int_analytics__customer_btyd, time in days; a sample above var
    clv_fit_max_customers, macro fit_sample): purchase rates are gamma(r, alpha)
    across customers, and after each repeat purchase a customer drops out with a probability
    that is beta(a, b) across customers. Customers with the same (x, t_x, T) share one
    likelihood term, weighted by their number. The grid search (macros/btyd.sql) starts from
    the last build's fit, or on a first build from r = 1, a = 0.5, b = 1 and alpha = the mean
    days per purchase (the rate's mean r / alpha is then the observed one). One row. -#}
{%- set histories -%}
btyd as (select * from {{ ref('int_analytics__customer_btyd') }}),

fitted as (
    {{ fit_sample('btyd', 'customer_id') }}
),

histories as (
    select
        frequency as x,
        recency_days as t_x,
        age_days as t,
        count(*) as weight
    from fitted
    group by frequency, recency_days, age_days
)
{%- endset -%}

{%- set search = grid_search(
    ['r', 'alpha', 'a', 'b'], ref('int_analytics__customer_btyd'), histories, 'histories',
    start="select
            0.0 as ln_r,
            ln(greatest(sum(weight * t), 1) * 1.0 / greatest(sum(weight * (x + 1)), 1)) as ln_alpha,
            ln(0.5) as ln_a,
            0.0 as ln_b
        from histories",
    warm_start='ln(r) as ln_r, ln(alpha) as ln_alpha, ln(a) as ln_a, ln(b) as ln_b',
    log_likelihood=bgnbd_log_likelihood('r', 'alpha', 'a', 'b', 'x', 't_x', 't')) -%}

with {{ histories }},

search as (
    {{ search }}
),

final as (
    select
        search.r,
        search.alpha,
        search.a,
        search.b,
        search.log_likelihood,
        search.step as final_step,
        search.rounds as search_rounds,
        search.is_warm_start,
        totals.customer_count
    from search
    cross join (select sum(weight) as customer_count from histories) as totals
)

select * from final
