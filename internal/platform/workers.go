package platform

import (
	"context"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/bus"
	"github.com/ordermill/ordermill/internal/privacy"
	"github.com/ordermill/ordermill/projections"
	"github.com/ordermill/ordermill/shopify"
	"github.com/ordermill/ordermill/workers"
)

// maxRetries is ORDERMILL_WORKER_MAX_RETRIES as the bus reads it: the bus
// reads 0 as its default, the variable as no retries.
func (p *Platform) maxRetries() int {
	if p.Config.WorkerMaxRetries == 0 {
		return bus.NoRetries
	}
	return p.Config.WorkerMaxRetries
}

// WorkersConfig is the workers role's router configuration.
func (p *Platform) WorkersConfig() workers.Config {
	return workers.Config{
		Redis: p.Redis, Pool: p.Pool, TopicPrefix: p.Config.StreamPrefix, ConsumerName: ConsumerName(),
		ClaimIdle: p.Config.WorkerClaimIdle, MaxRetries: p.maxRetries(),
		RetryInterval: p.Config.WorkerRetryInterval, Concurrency: p.Config.WorkerConcurrency,
		Logger: p.Log,
	}
}

// WebhookProcessor turns captured Shopify webhooks into domain commands; the
// API runs it too, to redeliver a webhook on request.
func (p *Platform) WebhookProcessor() *app.Webhooks {
	return app.NewWebhooks(p.Store, p.Shops, p.Log)
}

// DeadLetters lists and re-queues what the workers and projectors gave up on.
func (p *Platform) DeadLetters() (*bus.DeadLetters, error) {
	pub, err := redisstream.NewPublisher(redisstream.PublisherConfig{Client: p.Redis}, nil)
	if err != nil {
		return nil, err
	}
	return bus.NewDeadLetters(p.Store, pub, p.Config.StreamPrefix), nil
}

// WorkerHandlers lists every background handler the workers role runs.
func (p *Platform) WorkerHandlers() []workers.Handler {
	mailer := workers.NewMailer(workers.MailerConfig{Endpoint: p.Config.SESEndpoint, From: p.Config.EmailFrom})
	return []workers.Handler{
		workers.Webhooks(p.WebhookProcessor()),
		workers.NewInventoryManager(p.Store).Handler(),
		workers.NewInventoryLookup(p.Store, p.ShopifyAdmin(), p.Shops, p.Log).Handler(),
		workers.NewEmailWorker(p.Store, mailer, p.Log).Handler(),
		workers.NewReportBuilder(p.Store, p.ReadPool, p.Log).Handler(),
		workers.Eraser(p.Eraser()),
	}
}

// Eraser carries out Shopify's redaction requests on every read model.
func (p *Platform) Eraser() *privacy.Eraser {
	models := projections.NewRedactor(p.Pool, projections.All(p.Redis, p.Config.StreamPrefix))
	return privacy.NewEraser(p.Store, p.Keys, models, p.Log)
}

// ShopifyAdmin is the Admin API client every process shares a bucket through.
func (p *Platform) ShopifyAdmin() *shopify.AdminClient {
	return shopify.NewAdminClient(shopify.AdminConfig{
		BaseURL: p.Config.ShopifyAPIURL, APIVersion: p.Config.ShopifyAPIVersion,
		Bucket: shopify.NewRedisBucket(p.Redis, p.Config.StreamPrefix), Observe: workers.ObserveShopify,
	})
}

// Reconciler heals what Shopify's webhooks missed.
func (p *Platform) Reconciler() *workers.Reconciler {
	return workers.NewReconciler(p.Pool, p.App(), p.ShopifyAdmin(), p.Shops, p.Log)
}

// RunWorkers runs the workers role: every handler on its consumer group,
// and the reconciliation schedule.
func (p *Platform) RunWorkers(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return workers.NewRouter(p.WorkersConfig(), p.WorkerHandlers()...).Run(ctx) })
	if every := p.Config.ShopifyReconcileInterval; every > 0 {
		g.Go(func() error { return p.Reconciler().Run(ctx, every, p.reconcilableShops) })
	}
	return g.Wait()
}

// reconcilableShops are the installed shops with an Admin API token.
func (p *Platform) reconcilableShops(ctx context.Context) ([]string, error) {
	rows, err := p.Pool.Query(ctx, `SELECT domain FROM shops WHERE uninstalled_at IS NULL AND length(access_token) > 0 ORDER BY domain`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
